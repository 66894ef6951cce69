/**
 * The bytes a vocabulary piece stands for, where its decoded text cannot say: a piece of a multi-byte
 * character decodes to U+FFFD alone, but constrained decoding (constrain/token-constraint.ts) needs its
 * bytes to let it start or finish a character. Two spellings of bytes are known, read from tokenizer.json:
 *
 *   byte-level BPE (GPT-2, Llama 3, Qwen2; decoder ByteLevel): every byte is a printable stand-in
 *     character (GPT-2's bytes_to_unicode), so a piece is its characters' bytes;
 *   SentencePiece byte fallback (Llama 2, Mistral; model.byte_fallback): a piece "<0xE4>" is that byte.
 *
 * Any other tokenizer gets null (its partial pieces stay out of constrained output, as before). Pure.
 */

/** GPT-2's bytes_to_unicode, inverted: stand-in character → byte. */
function byteLevelTable(): Map<string, number> {
  const out = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
  }
  return out;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Whether a decoder config (tokenizer.json "decoder") is, or contains, ByteLevel. */
function hasByteLevel(dec: unknown): boolean {
  if (dec === null || typeof dec !== 'object') return false;
  const d = dec as { type?: unknown; decoders?: unknown };
  return d.type === 'ByteLevel' || (d.type === 'Sequence' && Array.isArray(d.decoders) && d.decoders.some(hasByteLevel));
}

/**
 * A reader of pieces' bytes for the tokenizer.json `json`, or null when its pieces do not spell bytes. A piece
 * it cannot read (a character outside the byte-level table; a SentencePiece piece that is not a byte) is null.
 */
export function pieceBytesReader(json: unknown): ((piece: string) => Uint8Array | null) | null {
  const j = (json ?? {}) as { decoder?: unknown; model?: { byte_fallback?: unknown } };
  if (hasByteLevel(j.decoder)) {
    const table = byteLevelTable();
    return (piece) => {
      const out: number[] = [];
      for (const ch of piece) {
        const b = table.get(ch);
        if (b === undefined) return null;
        out.push(b);
      }
      return Uint8Array.from(out);
    };
  }
  if (j.model?.byte_fallback === true) {
    return (piece) => {
      const m = BYTE_PIECE.exec(piece);
      return m ? Uint8Array.of(parseInt(m[1]!, 16)) : null;
    };
  }
  return null;
}
