/**
 * Pieces the command files share: option parsers that fail with a usage error (exit 2) on a
 * bad value, the context with the family config layer, and opening a store without a model.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { makeContext, type CommandContext, type GlobalOptions } from '../context.js';
import { storeDir, withFamily } from '../open.js';
import { LevelShardStore } from '../../shards/index.js';

export function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `${name} must be an integer ≥ ${min}` : `${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

export function floatArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}]`);
    return n;
  };
}

/** A number > 0. */
export function positiveArg(name: string) {
  return (v: string): number => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0`);
    return n;
  };
}

/** An edit id: a non-negative integer written plainly (no sign, no leading zeros, no exponent). */
export function editIdArg(v: string): number {
  if (!/^(0|[1-9]\d{0,14})$/.test(v)) throw new InvalidArgumentError(`edit id "${v}" is not a non-negative integer`);
  return Number(v);
}

export function nonEmptyArg(name: string) {
  return (v: string): string => {
    if (v.trim() === '') throw new InvalidArgumentError(`${name} must not be empty`);
    return v;
  };
}

/** Global options and the context with the model family's config layer (config/<family>.yaml). */
export function familyContext(cmd: Command): { g: GlobalOptions; ctx: CommandContext } {
  const g = cmd.optsWithGlobals() as GlobalOptions;
  const base = makeContext(g);
  return { g, ctx: { ...base, config: withFamily(base, g) } };
}

export function storeExists(dir: string): boolean {
  return existsSync(path.join(dir, 'db', 'CURRENT'));
}

/**
 * Opens the store without a model (no fingerprint check) for read-only tools (list, show,
 * check, backup). Throws WISE_NOT_FOUND when there is no store, WISE_STORE_LOCKED when held.
 */
export async function openStoreOnly(ctx: CommandContext, owner: string, dir = storeDir(ctx.config)): Promise<LevelShardStore> {
  ctx.log.info(`store ${dir}`);
  return LevelShardStore.open(dir, { fingerprint: null, create: false, owner }, { blobThreshold: ctx.config.store.blob_threshold, sync: ctx.config.store.sync });
}
