/**
 * UTF-8 one byte at a time, for constrained decoding over byte-level tokens (token-constraint.ts): a GPT-2,
 * Llama 3 or Qwen2 vocabulary holds pieces of multi-byte characters (a CJK character is often two tokens),
 * and a SentencePiece one its <0xNN> fallback bytes. A character in progress is packed in one number so a
 * trie walk allocates nothing:
 *
 *   bits 0–1  bytes still to come (0: the character is complete)
 *   bits 2–4  its length in bytes (1–4)
 *   bits 5–   the code point's bits read so far
 *
 * 0 is "between characters". Overlong forms, surrogates and code points past U+10FFFF are refused as soon as
 * no valid character can follow (RFC 3629). Pure.
 */

export const BETWEEN = 0;

const pack = (cp: number, len: number, need: number): number => (cp << 5) | (len << 2) | need;
export const needOf = (p: number): number => p & 3;
export const codePointOf = (p: number): number => p >> 5;

/** [first, last] code point of each UTF-8 length */
const SPAN: readonly (readonly [number, number])[] = [[0, 0], [0, 0x7f], [0x80, 0x7ff], [0x800, 0xffff], [0x10000, 0x10ffff]];

/**
 * The code points a character in progress can still become, surrogates excluded: up to two [lo, hi]
 * pieces (none: no valid character has these bytes).
 */
export function pendingRanges(p: number): [number, number][] {
  const need = needOf(p);
  const len = (p >> 2) & 7;
  const shift = 6 * need;
  const lo = Math.max(codePointOf(p) * 2 ** shift, SPAN[len]![0]);
  const hi = Math.min(codePointOf(p) * 2 ** shift + 2 ** shift - 1, SPAN[len]![1]);
  const out: [number, number][] = [];
  if (lo > hi) return out;
  if (lo < 0xd800) out.push([lo, Math.min(hi, 0xd7ff)]);
  if (hi > 0xdfff) out.push([Math.max(lo, 0xe000), hi]);
  return out;
}

/**
 * The state after byte `b` (0–255) from state `p`: complete when needOf is 0 (the character is codePointOf),
 * in progress otherwise, or −1 when the bytes cannot be valid UTF-8.
 */
export function feedByte(p: number, b: number): number {
  let next: number;
  if (p === BETWEEN) {
    if (b < 0x80) return pack(b, 1, 0);
    if (b < 0xc0) return -1; // a continuation byte with nothing to continue
    next = b < 0xe0 ? pack(b & 0x1f, 2, 1) : b < 0xf0 ? pack(b & 0x0f, 3, 2) : b < 0xf8 ? pack(b & 0x07, 4, 3) : -1;
  } else {
    if ((b & 0xc0) !== 0x80) return -1;
    next = pack((codePointOf(p) << 6) | (b & 0x3f), (p >> 2) & 7, needOf(p) - 1);
  }
  return next >= 0 && pendingRanges(next).length > 0 ? next : -1;
}

/** Whether `bytes` are whole characters of valid UTF-8 (what TextDecoder reads without U+FFFD). */
export function isWholeUtf8(bytes: Uint8Array): boolean {
  let p = BETWEEN;
  for (const b of bytes) {
    p = feedByte(p, b);
    if (p < 0) return false;
    if (needOf(p) === 0) p = BETWEEN;
  }
  return p === BETWEEN;
}
