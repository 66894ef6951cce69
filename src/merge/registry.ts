/**
 * The merge-method registry: name → {param schema, merge function}, like mergekit's
 * `merge_methods/registry.py`. `merge()` is the one entry point: it validates the inputs
 * (validate.ts), parses the params (unknown keys are errors), and calls the kernel,
 * which returns the merged delta; the caller adds it to the base.
 */
import { WiseError, check } from '../util/errors.js';
import type { Matrix, MergeMethod, MergeOptions } from './types.js';
import { checkDeltas, checkFinite, checkWeights, parseParams } from './validate.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMethod = MergeMethod<any>;

/** Typing helper: infers P from the schema. */
export function defineMethod<P>(m: MergeMethod<P>): MergeMethod<P> {
  return m;
}

export class MergeRegistry {
  private readonly methods = new Map<string, AnyMethod>();

  register<P>(method: MergeMethod<P>): this {
    check(!this.methods.has(method.name), 'WISE_INTERNAL', `merge method "${method.name}" is already registered`, { method: method.name });
    this.methods.set(method.name, method as AnyMethod);
    return this;
  }

  has(name: string): boolean {
    return this.methods.has(name);
  }

  names(): string[] {
    return [...this.methods.keys()].sort();
  }

  get(name: string): MergeMethod<unknown> {
    const m = this.methods.get(name);
    if (m === undefined) {
      throw new WiseError('WISE_MERGE_UNKNOWN_METHOD', `unknown merge method "${name}" (known: ${this.names().join(', ')})`, {
        param: 'method',
        method: name,
        known: this.names(),
      });
    }
    return m as MergeMethod<unknown>;
  }

  /** Validated, defaults-filled params of a method (throws WISE_MERGE_PARAM naming the key). */
  parse(name: string, params?: unknown): unknown {
    const m = this.get(name);
    return parseParams(name, m.schema, params);
  }

  /**
   * Merges k deltas of one matrix. Returns the merged delta (N Float32); W = W0 + result.
   * Throws WISE_MERGE_UNKNOWN_METHOD, WISE_MERGE_PARAM, WISE_SHAPE_MISMATCH, WISE_MERGE_NAN.
   */
  merge(name: string, base: Matrix, deltas: readonly Matrix[], weights: readonly number[], params?: unknown, options: MergeOptions = {}): Float32Array {
    const m = this.get(name);
    const p = parseParams(name, m.schema, params);
    checkDeltas(base, deltas);
    checkWeights(weights, deltas.length, m.allowsNegativeWeights(p));
    check(options.mask === undefined || m.acceptsMask === true, 'WISE_MERGE_PARAM', `${name} does not accept a learned mask`, { param: 'mask', method: name });
    checkFinite(deltas);
    return m.merge(base, deltas, weights, p, options);
  }
}
