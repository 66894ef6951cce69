/**
 * Base-model fingerprint: sha256 over the canonical JSON of the model config plus the
 * edited weight's name, dtype, shape and bytes. A store records it at creation and refuses
 * to attach to a model with another fingerprint (WISE_STORE_FINGERPRINT names both), since
 * deltas trained against one W are meaningless on another.
 */
import { createHash } from 'node:crypto';
import { WiseError } from '../util/errors.js';
import { bytesOf } from './blobs.js';

export interface FingerprintInput {
  /** The model config (e.g. config.json, plus which layer/weight is edited). */
  config: unknown;
  /** Name of the edited weight, e.g. "model.layers.27.mlp.down_proj.weight". */
  weightName: string;
  dtype: string;
  shape: number[];
  /** The edited weight's bytes (little-endian). */
  weight: Float32Array | Uint8Array;
}

/** JSON with object keys sorted recursively and no whitespace; rejects non-JSON values. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new WiseError('WISE_BAD_CONFIG', `config contains a non-finite number (${v})`);
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  throw new WiseError('WISE_BAD_CONFIG', `config contains a non-JSON value (${typeof v})`);
}

/** Hex sha256 fingerprint of a base model as seen by the editor. */
export function fingerprintModel(input: FingerprintInput): string {
  const head = canonicalJson({ config: input.config, weight: { name: input.weightName, dtype: input.dtype, shape: input.shape } });
  return createHash('sha256')
    .update('wise-fingerprint-v1\n') // domain tag: changing the recipe changes every fingerprint
    .update(head)
    .update('\n')
    .update(bytesOf(input.weight))
    .digest('hex');
}
