/**
 * Record codec: every value the store writes is framed as
 *
 *   offset  size  field
 *   0       4     magic "WISE"
 *   4       2     format version (u16 LE) — FORMAT_VERSION below
 *   6       1     record kind (RecordKind)
 *   7       1     payload encoding: 0 = UTF-8 JSON, 1 = raw bytes
 *   8       32    sha256(key ‖ bytes[0..8] ‖ payload)
 *   40      …     payload
 *
 * The checksum covers the key, so a value copied under the wrong key is caught, and the
 * header, so a flipped kind/version byte is caught. Because the frame is part of the value,
 * version and checksum are always written in the same batch as the record itself.
 * Reference: llm.c checkpoint headers (magic + version + HINT on mismatch).
 */
import { createHash } from 'node:crypto';
import { WiseError } from '../util/errors.js';

export const MAGIC = 0x45534957; // "WISE" read as u32 LE
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 40;

export const RecordKind = { header: 1, edit: 2, shard: 3, memory: 4, meta: 5, blob: 6 } as const;
export type RecordKind = keyof typeof RecordKind;
const KIND_BY_CODE = new Map<number, RecordKind>(
  Object.entries(RecordKind).map(([k, v]) => [v, k as RecordKind]),
);

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function checksum(key: string, head: Uint8Array, payload: Uint8Array): Uint8Array {
  return createHash('sha256').update(key, 'utf8').update(head).update(payload).digest();
}

/** Frames a payload. `version` is overridable only so tests can forge other formats. */
export function encodeFrame(
  key: string,
  kind: RecordKind,
  payload: Uint8Array,
  raw: boolean,
  version = FORMAT_VERSION,
): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint16(4, version, true);
  out[6] = RecordKind[kind];
  out[7] = raw ? 1 : 0;
  out.set(checksum(key, out.subarray(0, 8), payload), 8);
  out.set(payload, HEADER_BYTES);
  return out;
}

export function encodeJson(key: string, kind: RecordKind, value: unknown, version = FORMAT_VERSION): Uint8Array {
  return encodeFrame(key, kind, enc.encode(JSON.stringify(value)), false, version);
}

export interface Frame {
  kind: RecordKind;
  version: number;
  raw: boolean;
  payload: Uint8Array;
}

function corrupt(key: string, why: string): WiseError {
  return new WiseError(
    'WISE_STORE_CORRUPT',
    `store record '${key}' is corrupt: ${why}. Run \`wise db check\`; the edit log can rebuild derived records.`,
    { key, reason: why },
  );
}

/** Decodes and verifies a frame. Throws WISE_STORE_CORRUPT / WISE_STORE_VERSION naming the key. */
export function decodeFrame(key: string, bytes: Uint8Array): Frame {
  if (bytes.byteLength < HEADER_BYTES) throw corrupt(key, `value is ${bytes.byteLength} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw corrupt(key, 'bad magic (not a wise-edit record)');
  const version = dv.getUint16(4, true);
  if (version !== FORMAT_VERSION) {
    throw new WiseError(
      'WISE_STORE_VERSION',
      `store record '${key}' has format version ${version}; this wise-edit reads version ${FORMAT_VERSION}. ` +
        `HINT: ${version > FORMAT_VERSION ? 'the store was written by a newer wise-edit; upgrade wise-edit' : 'the store was written by an older wise-edit; rebuild it by replaying its edit log'}.`,
      { key, found: version, expected: FORMAT_VERSION },
    );
  }
  const kind = KIND_BY_CODE.get(bytes[6] ?? 0);
  if (kind === undefined) throw corrupt(key, `unknown record kind ${bytes[6]}`);
  const payload = bytes.subarray(HEADER_BYTES);
  const want = checksum(key, bytes.subarray(0, 8), payload);
  const got = bytes.subarray(8, HEADER_BYTES);
  for (let i = 0; i < 32; i++) if (want[i] !== got[i]) throw corrupt(key, 'checksum mismatch');
  return { kind, version, raw: bytes[7] === 1, payload };
}

/** Decodes a JSON record and checks that it is of the expected kind. */
export function decodeJson<T>(key: string, bytes: Uint8Array, kind: RecordKind): T {
  const f = decodeFrame(key, bytes);
  if (f.kind !== kind || f.raw) throw corrupt(key, `expected a ${kind} record, found ${f.kind}`);
  try {
    return JSON.parse(dec.decode(f.payload)) as T;
  } catch (e) {
    throw corrupt(key, `payload is not valid JSON (${(e as Error).message})`);
  }
}

/** sha256 hex of bytes: the name of a blob. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
