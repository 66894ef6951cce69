import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWiseError, type ErrorCode } from '../../src/util/errors.js';
import { SafetensorsFile, readSafetensors, serializeSafetensors, writeSafetensors, type TensorToWrite } from '../../src/model/safetensors.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/model/halfprec.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'wise-st-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Deterministic pseudo-random f32 values (LCG), with a few special values up front. */
function values(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 8;
  }
  const special = [0, -0, Infinity, -Infinity, 1e-40, -3.4e38, 2 ** -149];
  special.forEach((v, i) => {
    if (i < n) out[i] = v;
  });
  return out;
}

function bits32(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** A raw safetensors file from a header (object or exact text) and data bytes. */
async function rawFile(name: string, header: object | string, data: Uint8Array = new Uint8Array(0)): Promise<string> {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(tmp, name);
  await writeFile(file, Buffer.concat([len, json, data]));
  return file;
}

async function expectCode(p: Promise<unknown>, code: ErrorCode, mentions?: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isWiseError(err), `expected WiseError ${code}, got ${String(err)}`).toBe(true);
  if (isWiseError(err)) {
    expect(err.code).toBe(code);
    if (mentions !== undefined) expect(err.message + JSON.stringify(err.details)).toContain(mentions);
  }
}

describe('safetensors writer → reader', () => {
  it('round-trips F32 bit-identically, including -0, ±Inf, NaN and subnormals', async () => {
    const a = values(257, 3);
    a[10] = NaN;
    const b = values(12, 7);
    const file = path.join(tmp, 'f32.safetensors');
    await writeSafetensors(file, { 'layer.a': { shape: [257], data: a }, 'layer.b': { shape: [3, 4], data: b }, scalar: { shape: [], data: new Float32Array([42]) }, empty: { shape: [0, 5], data: new Float32Array(0) } }, { format: 'pt' });
    const { tensors, metadata } = await readSafetensors(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()].sort()).toEqual(['empty', 'layer.a', 'layer.b', 'scalar']);
    expect(bits32(tensors.get('layer.a')!.data)).toEqual(bits32(a));
    expect(bits32(tensors.get('layer.b')!.data)).toEqual(bits32(b));
    expect(tensors.get('layer.b')!.shape).toEqual([3, 4]);
    expect(tensors.get('scalar')!).toEqual({ shape: [], data: new Float32Array([42]) });
    expect(tensors.get('empty')!.shape).toEqual([0, 5]);
    expect(tensors.get('empty')!.data.length).toBe(0);
  });

  it('round-trips BF16 and F16 exactly for representable values', async () => {
    // Every finite F16 value; BF16 values = f32 with the low 16 bits cleared.
    const f16 = new Float32Array(65536 - 2 * 1023);
    let k = 0;
    for (let h = 0; h < 65536; h++) {
      const exp = (h >>> 10) & 0x1f;
      if (exp === 0x1f && (h & 0x3ff) !== 0) continue; // NaNs
      f16[k++] = f16BitsToF32(h);
    }
    expect(k).toBe(f16.length);
    const bf = values(1000, 5).map((v) => bf16BitsToF32(f32ToBf16Bits(v)));
    const file = path.join(tmp, 'half.safetensors');
    await writeSafetensors(file, { h: { shape: [f16.length], data: f16, dtype: 'F16' }, b: { shape: [10, 100], data: bf, dtype: 'BF16' } });
    const st = await SafetensorsFile.open(file);
    try {
      expect(st.info('h').dtype).toBe('F16');
      expect(st.info('b').dtype).toBe('BF16');
      expect(bits32((await st.readFloat32('h')).data)).toEqual(bits32(f16));
      expect(bits32((await st.readFloat32('b')).data)).toEqual(bits32(bf));
      // and the stored F16 bits are exactly the enumeration order (minus NaNs)
      const raw = new Uint16Array((await st.readRaw('h')).buffer);
      expect(raw[0]).toBe(0x0000);
      expect(raw[0x3c00]).toBe(0x3c00);
    } finally {
      await st.close();
    }
  });

  it('rounds to nearest even when narrowing', () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // overflow → Inf
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // tie → even (0)
    expect(f32ToF16Bits(1.5 * 2 ** -24)).toBe(0x0002); // tie → even (2)
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f32ToF16Bits(NaN) & 0x7e00).toBe(0x7e00);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
    expect(f32ToBf16Bits(-Infinity)).toBe(0xff80);
  });

  it('writes the header exactly per the spec: LE length, sorted JSON, space padding, data at the offsets', async () => {
    const file = path.join(tmp, 'exact.safetensors');
    const tensors = new Map<string, TensorToWrite>([
      ['b', { shape: [2], data: new Float32Array([1, 2]) }],
      ['a', { shape: [1], data: new Float32Array([0.5]), dtype: 'F16' }],
      ['c', { shape: [3], dtype: 'U8', bytes: new Uint8Array([7, 8, 9]) }],
    ]);
    await writeSafetensors(file, tensors, { format: 'pt' });
    const bytes = new Uint8Array(await readFile(file));
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]},"c":{"dtype":"U8","shape":[3],"data_offsets":[10,13]}}';
    const n = Math.ceil(json.length / 8) * 8;
    expect(n % 8).toBe(0);
    const expected = new Uint8Array(8 + n + 13);
    new DataView(expected.buffer).setBigUint64(0, BigInt(n), true);
    expected.set(Buffer.from(json, 'utf8'), 8);
    expected.fill(0x20, 8 + json.length, 8 + n);
    expected.set([0x00, 0x38], 8 + n); // F16 0.5 = 0x3800
    expected.set([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40], 8 + n + 2); // F32 1, 2
    expected.set([7, 8, 9], 8 + n + 10);
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    // serializeSafetensors agrees with the file
    const s = serializeSafetensors(tensors, { format: 'pt' });
    expect(s.totalBytes).toBe(bytes.length);
    // raw read of a non-float dtype; reading it as float is a dtype error
    const st = await SafetensorsFile.open(file);
    try {
      expect([...(await st.readRaw('c'))]).toEqual([7, 8, 9]);
      await expectCode(st.readFloat32('c'), 'WISE_SAFETENSORS_DTYPE', "'c'");
    } finally {
      await st.close();
    }
  });

  it('reads a header padded with trailing spaces and no metadata', async () => {
    const file = await rawFile('pad.safetensors', '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   ', new Uint8Array(new Float32Array([3.5]).buffer));
    const { tensors, metadata } = await readSafetensors(file);
    expect(metadata).toEqual({});
    expect([...tensors.get('x')!.data]).toEqual([3.5]);
  });

  it('leaves no temp file behind', async () => {
    const dir = await mkdtemp(path.join(tmp, 'atomic-'));
    await writeSafetensors(path.join(dir, 'm.safetensors'), { x: { shape: [1], data: new Float32Array([1]) } });
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dir)).toEqual(['m.safetensors']);
  });
});

describe('safetensors bad input', () => {
  const f32 = (n: number): Uint8Array => new Uint8Array(n * 4);

  it('missing file → WISE_FILE_NOT_FOUND', async () => {
    await expectCode(SafetensorsFile.open(path.join(tmp, 'nope.safetensors')), 'WISE_FILE_NOT_FOUND', 'nope.safetensors');
  });

  it('truncated files → WISE_FILE_TRUNCATED', async () => {
    const short = path.join(tmp, 'short.safetensors');
    await writeFile(short, Buffer.from([1, 2, 3]));
    await expectCode(SafetensorsFile.open(short), 'WISE_FILE_TRUNCATED', 'short.safetensors');

    // header length larger than what follows
    const cutHeader = path.join(tmp, 'cut-header.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(1000n);
    await writeFile(cutHeader, Buffer.concat([len, Buffer.from('{"a":')]));
    await expectCode(SafetensorsFile.open(cutHeader), 'WISE_FILE_TRUNCATED', 'cut-header');

    // a valid file with its data cut short
    const full = path.join(tmp, 'full.safetensors');
    await writeSafetensors(full, { w: { shape: [4, 4], data: values(16) }, v: { shape: [4], data: values(4) } });
    const bytes = await readFile(full);
    const cut = path.join(tmp, 'cut-data.safetensors');
    await writeFile(cut, bytes.subarray(0, bytes.length - 5));
    await expectCode(SafetensorsFile.open(cut), 'WISE_FILE_TRUNCATED', "'w'");
  });

  it('offsets that disagree with dtype × shape → WISE_SAFETENSORS_HEADER naming the tensor', async () => {
    const file = await rawFile('disagree.safetensors', { good: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, bad: { dtype: 'F32', shape: [3, 2], data_offsets: [8, 28] } }, f32(7));
    await expectCode(SafetensorsFile.open(file), 'WISE_SAFETENSORS_HEADER', "'bad'");
  });

  it('gaps, overlaps and uncovered trailing bytes → WISE_SAFETENSORS_HEADER', async () => {
    const gap = await rawFile('gap.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, f32(3));
    await expectCode(SafetensorsFile.open(gap), 'WISE_SAFETENSORS_HEADER', "'b'");
    const overlap = await rawFile('overlap.safetensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2));
    await expectCode(SafetensorsFile.open(overlap), 'WISE_SAFETENSORS_HEADER', 'overlaps');
    const trailing = await rawFile('trailing.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2));
    await expectCode(SafetensorsFile.open(trailing), 'WISE_SAFETENSORS_HEADER', 'trailing');
    const past = await rawFile('past.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [1000, 1004] } }, f32(2));
    await expectCode(SafetensorsFile.open(past), 'WISE_SAFETENSORS_HEADER', "'b'");
  });

  it('malformed headers → WISE_SAFETENSORS_HEADER', async () => {
    await expectCode(SafetensorsFile.open(await rawFile('json.safetensors', '{"a": {"dtype": "F32",')), 'WISE_SAFETENSORS_HEADER', 'JSON');
    await expectCode(SafetensorsFile.open(await rawFile('arr.safetensors', '[1,2,3]')), 'WISE_SAFETENSORS_HEADER');
    const dup = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    await expectCode(SafetensorsFile.open(await rawFile('dup.safetensors', dup, f32(1))), 'WISE_SAFETENSORS_HEADER', 'duplicate');
    await expectCode(SafetensorsFile.open(await rawFile('meta.safetensors', { __metadata__: { n: 3 } })), 'WISE_SAFETENSORS_HEADER', '__metadata__');
    await expectCode(SafetensorsFile.open(await rawFile('shape.safetensors', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1))), 'WISE_SAFETENSORS_HEADER', "'a'");
    const huge = path.join(tmp, 'huge.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(200_000_000n);
    await writeFile(huge, Buffer.concat([len, Buffer.from('{}')]));
    await expectCode(SafetensorsFile.open(huge), 'WISE_SAFETENSORS_HEADER', 'cap');
  });

  it('unknown dtype → WISE_SAFETENSORS_DTYPE naming it', async () => {
    const file = await rawFile('dtype.safetensors', { a: { dtype: 'F12', shape: [1], data_offsets: [0, 4] } }, f32(1));
    await expectCode(SafetensorsFile.open(file), 'WISE_SAFETENSORS_DTYPE', 'F12');
  });
});
