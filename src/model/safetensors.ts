/**
 * safetensors reader and writer (format spec: github.com/huggingface/safetensors, "Format").
 *
 * Layout: 8-byte little-endian u64 N, N bytes of UTF-8 JSON header (may end in spaces), then the byte buffer.
 * Header: { name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__"?: {string: string} }, offsets relative
 * to the buffer; no duplicate names; the tensors cover the buffer exactly (no gaps, no overlaps).
 *
 * Reading is lazy: `SafetensorsFile.open` parses and validates the header, then each tensor is fetched with one
 * positioned read into a fresh (aligned) ArrayBuffer. Float dtypes (F32, F16, BF16, F64) convert to Float32Array;
 * every dtype can be read raw. Writing sorts the keys, pads the header with spaces to a multiple of 8, writes the
 * data contiguously to a temp file, fsyncs and renames.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WiseError, check } from '../util/errors.js';
import { bf16ArrayToF32, f16ArrayToF32, f32ArrayToBf16, f32ArrayToF16 } from './halfprec.js';

/** Bytes per element for every dtype the spec lists. */
export const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type SafetensorsDType = keyof typeof DTYPE_BYTES;
/** Dtypes that `readFloat32` converts. */
export const FLOAT_DTYPES: readonly SafetensorsDType[] = ['F32', 'F16', 'BF16', 'F64'];
/** Dtypes the writer can produce from a Float32Array. */
export type WritableFloatDType = 'F32' | 'F16' | 'BF16';

/** Header cap, as in the Rust implementation. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) relative to the start of the byte buffer */
  dataOffsets: [number, number];
}

export interface ParsedHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

/** A float tensor as loaded: row-major f32 data. */
export interface F32Tensor {
  data: Float32Array;
  shape: number[];
}

/** What the writer takes: f32 data stored as `dtype` (default F32), or raw little-endian bytes of any dtype. */
export type TensorToWrite =
  | { shape: readonly number[]; data: Float32Array; dtype?: WritableFloatDType }
  | { shape: readonly number[]; bytes: Uint8Array; dtype: SafetensorsDType };

const LITTLE_ENDIAN = os.endianness() === 'LE';

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function isDType(s: unknown): s is SafetensorsDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/**
 * Top-level keys of a JSON object text, in order, duplicates kept (JSON.parse silently keeps the last one).
 * Assumes the text already parsed as JSON.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth === 1) {
        let j = i + 1;
        while (j < text.length && /\s/.test(text[j]!)) j++;
        if (text[j] === ':') keys.push(JSON.parse(text.slice(start, i + 1)) as string);
      }
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

/**
 * Parses and validates a header. `bufferBytes` is the size of the data region (file size − 8 − N).
 * Throws WISE_SAFETENSORS_HEADER / WISE_SAFETENSORS_DTYPE / WISE_FILE_TRUNCATED, naming `file` and the tensor.
 */
export function parseHeader(headerBytes: Uint8Array, bufferBytes: number, file: string): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch (e) {
    throw new WiseError('WISE_SAFETENSORS_HEADER', `${file}: header is not valid UTF-8`, { file }, { cause: e });
  }
  check(text.startsWith('{'), 'WISE_SAFETENSORS_HEADER', `${file}: header does not start with '{'`, { file });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new WiseError('WISE_SAFETENSORS_HEADER', `${file}: header is not valid JSON: ${(e as Error).message}`, { file }, { cause: e });
  }
  check(json !== null && typeof json === 'object' && !Array.isArray(json), 'WISE_SAFETENSORS_HEADER', `${file}: header is not a JSON object`, { file });
  const keys = topLevelKeys(text);
  const seen = new Set<string>();
  for (const k of keys) {
    check(!seen.has(k), 'WISE_SAFETENSORS_HEADER', `${file}: duplicate tensor name '${k}' in header`, { file, tensor: k });
    seen.add(k);
  }

  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      check(raw !== null && typeof raw === 'object' && !Array.isArray(raw), 'WISE_SAFETENSORS_HEADER', `${file}: __metadata__ must be an object of strings`, { file, field: '__metadata__' });
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        check(typeof v === 'string', 'WISE_SAFETENSORS_HEADER', `${file}: __metadata__.${k} must be a string, got ${typeof v}`, { file, field: `__metadata__.${k}` });
        metadata[k] = v;
      }
      continue;
    }
    const bad = (why: string): never => {
      throw new WiseError('WISE_SAFETENSORS_HEADER', `${file}: tensor '${name}': ${why}`, { file, tensor: name, entry: raw });
    };
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad('entry is not an object');
    const entry = raw as Record<string, unknown>;
    if (!isDType(entry.dtype)) {
      throw new WiseError('WISE_SAFETENSORS_DTYPE', `${file}: tensor '${name}' has unknown dtype ${JSON.stringify(entry.dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`, { file, tensor: name, dtype: entry.dtype });
    }
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    const offs = entry.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) bad(`data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
    const [b, e] = offs as [number, number];
    if (e < b) bad(`data_offsets [${b}, ${e}] end before begin`);
    const n = numel(shape as number[]);
    const want = n * DTYPE_BYTES[entry.dtype];
    if (!Number.isSafeInteger(want) || e - b !== want) {
      bad(`data_offsets [${b}, ${e}] span ${e - b} bytes but dtype ${entry.dtype} × shape [${(shape as number[]).join(', ')}] needs ${want}`);
    }
    tensors.set(name, { name, dtype: entry.dtype, shape: [...(shape as number[])], dataOffsets: [b, e] });
  }

  // The tensors must tile [0, total) exactly; total must equal the buffer size.
  const sorted = [...tensors.values()].sort((x, y) => x.dataOffsets[0] - y.dataOffsets[0] || x.dataOffsets[1] - y.dataOffsets[1]);
  let cursor = 0;
  for (const t of sorted) {
    const [b, e] = t.dataOffsets;
    check(b === cursor, 'WISE_SAFETENSORS_HEADER', b > cursor
      ? `${file}: gap in the byte buffer before tensor '${t.name}' (bytes ${cursor}..${b} unused)`
      : `${file}: tensor '${t.name}' overlaps the previous tensor (begins at ${b}, previous ends at ${cursor})`, { file, tensor: t.name, dataOffsets: t.dataOffsets, expectedBegin: cursor });
    cursor = e;
  }
  if (cursor > bufferBytes) {
    const last = sorted[sorted.length - 1]!;
    throw new WiseError('WISE_FILE_TRUNCATED', `${file}: truncated: header describes ${cursor} data bytes but the file holds ${bufferBytes} (tensor '${last.name}' ends past the end)`, { file, tensor: last.name, expectedBytes: cursor, actualBytes: bufferBytes });
  }
  check(cursor === bufferBytes, 'WISE_SAFETENSORS_HEADER', `${file}: ${bufferBytes - cursor} trailing bytes after the last tensor are not covered by the header`, { file, expectedBytes: cursor, actualBytes: bufferBytes });
  return { tensors, metadata };
}

async function readExactly(fh: fsp.FileHandle, length: number, position: number, file: string): Promise<Uint8Array> {
  const buf = new Uint8Array(new ArrayBuffer(length)); // fresh buffer: offset 0, so typed views are aligned
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new WiseError('WISE_FILE_TRUNCATED', `${file}: expected ${length} bytes at offset ${position}, got ${done}`, { file, position, expectedBytes: length, actualBytes: done });
    }
    done += bytesRead;
  }
  return buf;
}

async function openFile(file: string, what = 'safetensors file'): Promise<fsp.FileHandle> {
  try {
    return await fsp.open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new WiseError('WISE_FILE_NOT_FOUND', `${what} not found: ${file}`, { file }, { cause: e });
    }
    throw e;
  }
}

/** An open safetensors file; tensors are read on demand. Call `close()` when done. */
export class SafetensorsFile {
  private constructor(
    readonly file: string,
    private readonly fh: fsp.FileHandle,
    readonly header: ParsedHeader,
    /** absolute file offset of the byte buffer (8 + N) */
    readonly dataStart: number,
  ) {}

  static async open(file: string): Promise<SafetensorsFile> {
    const fh = await openFile(file);
    try {
      const size = (await fh.stat()).size;
      check(size >= 8, 'WISE_FILE_TRUNCATED', `${file}: truncated: ${size} bytes, shorter than the 8-byte header length`, { file, actualBytes: size });
      const lenBytes = await readExactly(fh, 8, 0, file);
      const n64 = new DataView(lenBytes.buffer).getBigUint64(0, true);
      check(n64 <= BigInt(MAX_HEADER_BYTES), 'WISE_SAFETENSORS_HEADER', `${file}: header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte cap`, { file, headerBytes: n64.toString() });
      const n = Number(n64);
      check(n >= 2, 'WISE_SAFETENSORS_HEADER', `${file}: header length ${n} is too small for a JSON object`, { file, headerBytes: n });
      check(8 + n <= size, 'WISE_FILE_TRUNCATED', `${file}: truncated: header declares ${n} bytes but the file has only ${size - 8} after the length`, { file, headerBytes: n, actualBytes: size - 8 });
      const headerBytes = await readExactly(fh, n, 8, file);
      const header = parseHeader(headerBytes, size - 8 - n, file);
      return new SafetensorsFile(file, fh, header, 8 + n);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.header.tensors.get(name);
    if (!t) throw new WiseError('WISE_MISSING_WEIGHT', `${this.file}: no tensor '${name}'`, { file: this.file, tensor: name });
    return t;
  }

  /** The tensor's little-endian bytes, in a fresh ArrayBuffer. */
  async readRaw(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    const [b, e] = t.dataOffsets;
    return readExactly(this.fh, e - b, this.dataStart + b, this.file);
  }

  /** A float tensor (F32, F16, BF16, F64) as row-major f32; other dtypes → WISE_SAFETENSORS_DTYPE. */
  async readFloat32(name: string): Promise<F32Tensor> {
    const t = this.info(name);
    check(FLOAT_DTYPES.includes(t.dtype), 'WISE_SAFETENSORS_DTYPE', `${this.file}: tensor '${name}' has dtype ${t.dtype}; expected one of ${FLOAT_DTYPES.join(', ')}`, { file: this.file, tensor: name, dtype: t.dtype });
    check(LITTLE_ENDIAN, 'WISE_INTERNAL', 'safetensors reading needs a little-endian host', { endianness: os.endianness() });
    const raw = await this.readRaw(name);
    const n = numel(t.shape);
    let data: Float32Array;
    switch (t.dtype) {
      case 'F32':
        data = new Float32Array(raw.buffer, 0, n);
        break;
      case 'F16':
        data = f16ArrayToF32(new Uint16Array(raw.buffer, 0, n));
        break;
      case 'BF16':
        data = bf16ArrayToF32(new Uint16Array(raw.buffer, 0, n));
        break;
      default:
        data = Float32Array.from(new Float64Array(raw.buffer, 0, n));
    }
    return { data, shape: [...t.shape] };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Reads every float tensor of one file (F32/F16/BF16/F64 → f32). */
export async function readSafetensors(file: string): Promise<{ tensors: Map<string, F32Tensor>; metadata: Record<string, string> }> {
  const st = await SafetensorsFile.open(file);
  try {
    const tensors = new Map<string, F32Tensor>();
    for (const name of st.names()) tensors.set(name, await st.readFloat32(name));
    return { tensors, metadata: st.metadata };
  } finally {
    await st.close();
  }
}

function tensorBytes(name: string, t: TensorToWrite): { dtype: SafetensorsDType; bytes: Uint8Array } {
  const n = numel(t.shape);
  check(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), 'WISE_SHAPE_MISMATCH', `tensor '${name}': bad shape [${t.shape.join(', ')}]`, { tensor: name, shape: t.shape });
  check(LITTLE_ENDIAN, 'WISE_INTERNAL', 'safetensors writing needs a little-endian host', { endianness: os.endianness() });
  if ('bytes' in t) {
    const want = n * DTYPE_BYTES[t.dtype];
    check(t.bytes.byteLength === want, 'WISE_SHAPE_MISMATCH', `tensor '${name}': ${t.bytes.byteLength} bytes, but ${t.dtype} × [${t.shape.join(', ')}] needs ${want}`, { tensor: name, shape: t.shape, dtype: t.dtype, gotBytes: t.bytes.byteLength, expectedBytes: want });
    return { dtype: t.dtype, bytes: t.bytes };
  }
  check(t.data.length === n, 'WISE_SHAPE_MISMATCH', `tensor '${name}': ${t.data.length} values, but shape [${t.shape.join(', ')}] holds ${n}`, { tensor: name, shape: t.shape, got: t.data.length, expected: n });
  const dtype = t.dtype ?? 'F32';
  const arr = dtype === 'F32' ? t.data : dtype === 'F16' ? f32ArrayToF16(t.data) : f32ArrayToBf16(t.data);
  return { dtype, bytes: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) };
}

/**
 * Header bytes and data chunks of a safetensors file, in write order: keys sorted (code-unit order),
 * `__metadata__` first when given, header padded with spaces to a multiple of 8.
 */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): { header: Uint8Array; chunks: Uint8Array[]; totalBytes: number } {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      check(typeof v === 'string', 'WISE_SAFETENSORS_HEADER', `__metadata__.${k} must be a string`, { field: `__metadata__.${k}` });
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const [name, t] of entries) {
    check(name !== '__metadata__', 'WISE_SAFETENSORS_HEADER', "a tensor cannot be named '__metadata__'", { tensor: name });
    check(!names.has(name), 'WISE_SAFETENSORS_HEADER', `duplicate tensor name '${name}'`, { tensor: name });
    names.add(name);
    const { dtype, bytes } = tensorBytes(name, t);
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + bytes.byteLength}]}`);
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.byteLength / 8) * 8;
  const header = new Uint8Array(8 + n);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.byteLength);
  return { header, chunks, totalBytes: header.byteLength + offset };
}

/** Writes a safetensors file atomically: `<file>.tmp-<pid>`, fsync, rename. */
export async function writeSafetensors(
  file: string,
  tensors: ReadonlyMap<string, TensorToWrite> | Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<void> {
  const { header, chunks } = serializeSafetensors(tensors, metadata);
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fsp.open(tmp, 'w');
  try {
    let pos = 0;
    for (const c of [header, ...chunks]) {
      let done = 0;
      while (done < c.byteLength) {
        const { bytesWritten } = await fh.write(c, done, c.byteLength - done, pos + done);
        done += bytesWritten;
      }
      pos += c.byteLength;
    }
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fsp.rename(tmp, file);
  // Persist the rename itself where the platform allows it.
  const dir = await fsp.open(path.dirname(file), 'r').catch(() => null);
  if (dir) await dir.sync().catch(() => undefined).finally(() => dir.close());
}
