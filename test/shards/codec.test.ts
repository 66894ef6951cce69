/** Codec framing and model fingerprints. */
import { describe, expect, it } from 'vitest';
import { isWiseError } from '../../src/util/errors.js';
import { decodeFrame, decodeJson, encodeJson, HEADER_BYTES } from '../../src/shards/codec.js';
import { canonicalJson, fingerprintModel } from '../../src/shards/index.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isWiseError(e) ? e.code : 'not a WiseError';
  }
  return undefined;
}

describe('codec', () => {
  it('round-trips and binds the value to its key and kind', () => {
    const v = encodeJson('edit!0000000001', 'edit', { id: 1, a: [1, 2] });
    expect(decodeJson('edit!0000000001', v, 'edit')).toEqual({ id: 1, a: [1, 2] });
    expect(code(() => decodeJson('edit!0000000002', v, 'edit'))).toBe('WISE_STORE_CORRUPT'); // moved key
    expect(code(() => decodeJson('edit!0000000001', v, 'shard'))).toBe('WISE_STORE_CORRUPT'); // wrong kind
  });
  it('rejects short values, bad magic, flipped bits, other versions', () => {
    const v = encodeJson('k', 'meta', { x: 1 });
    expect(code(() => decodeFrame('k', v.subarray(0, HEADER_BYTES - 1)))).toBe('WISE_STORE_CORRUPT');
    const m = v.slice();
    m[0] = m[0]! ^ 1;
    expect(code(() => decodeFrame('k', m))).toBe('WISE_STORE_CORRUPT');
    const k = v.slice();
    k[6] = 2; // kind byte (meta→edit) is covered by the checksum
    expect(code(() => decodeFrame('k', k))).toBe('WISE_STORE_CORRUPT');
    expect(code(() => decodeFrame('k', encodeJson('k', 'meta', {}, 7)))).toBe('WISE_STORE_VERSION');
  });
});

describe('fingerprintModel', () => {
  const base = { config: { n_embd: 8, layers: { edit: 3 } }, weightName: 'h.3.mlp.c_proj.weight', dtype: 'float32', shape: [2, 2], weight: new Float32Array([1, 2, 3, 4]) };
  it('is stable under key order and changes with config or weight bytes', () => {
    const fp = fingerprintModel(base);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintModel({ ...base, config: { layers: { edit: 3 }, n_embd: 8 } })).toBe(fp);
    expect(fingerprintModel({ ...base, config: { n_embd: 8, layers: { edit: 4 } } })).not.toBe(fp);
    expect(fingerprintModel({ ...base, weight: new Float32Array([1, 2, 3, 4.0001]) })).not.toBe(fp);
    expect(fingerprintModel({ ...base, shape: [4, 1] })).not.toBe(fp);
  });
  it('canonical JSON sorts keys and rejects NaN', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: null }] })).toBe('{"a":[{"c":null,"d":1}],"b":1}');
    expect(code(() => canonicalJson({ a: NaN }))).toBe('WISE_BAD_CONFIG');
  });
});
