/**
 * Config resolution: defaults < YAML file < WISE_* environment < CLI flags.
 * Only this file (plus cli/ and serve/) reads the environment.
 *
 * Environment keys: WISE_MODEL, WISE_DB (store.db), and WISE_<SECTION>__<KEY> for any
 * nested key, e.g. WISE_WISE__N_ITER=30 or WISE_ENGINE__THREADS=1. Values are parsed
 * as YAML scalars (so numbers and booleans keep their types). An unknown WISE_*__* key
 * is an error, like an unknown key in the file.
 */
import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigSchema, type Config } from './schema.js';
import { WiseError } from '../util/errors.js';

export type PartialConfig = { [k: string]: unknown };

/** Environment variables with their own meaning, not config keys. */
const RESERVED_ENV = new Set(['WISE_TOKEN', 'WISE_CONFIG', 'WISE_DATA_DIR']);

export function readConfigFile(file: string): PartialConfig {
  if (!existsSync(file)) throw new WiseError('WISE_FILE_NOT_FOUND', `config file not found: ${file}`, { file });
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new WiseError('WISE_BAD_CONFIG', `config file ${file} is not valid YAML: ${(e as Error).message}`, { file });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new WiseError('WISE_BAD_CONFIG', `config file ${file} must hold a mapping at the top level`, { file });
  }
  return doc as PartialConfig;
}

export function envOverrides(env: NodeJS.ProcessEnv): PartialConfig {
  const out: PartialConfig = {};
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith('WISE_') || raw === undefined || RESERVED_ENV.has(key)) continue;
    const value: unknown = parseYaml(raw);
    if (key === 'WISE_MODEL') out.model = raw;
    else if (key === 'WISE_DB') setPath(out, ['store', 'db'], raw);
    else if (key.includes('__')) {
      const [section, name] = key.slice(5).toLowerCase().split('__', 2) as [string, string];
      setPath(out, [section, name], value);
    } else {
      throw new WiseError('WISE_BAD_CONFIG', `unknown environment variable ${key} (use WISE_<SECTION>__<KEY>, e.g. WISE_WISE__N_ITER)`, { field: key });
    }
  }
  return out;
}

function setPath(obj: PartialConfig, path: string[], value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as string;
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as PartialConfig;
  }
  cur[path[path.length - 1] as string] = value;
}

/** Deep merge of plain objects; arrays and scalars in `b` replace those in `a`. */
export function deepMerge(a: PartialConfig, b: PartialConfig): PartialConfig {
  const out: PartialConfig = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    if (isPlain(v) && isPlain(prev)) out[k] = deepMerge(prev, v);
    else if (v !== undefined) out[k] = v;
  }
  return out;
}

function isPlain(v: unknown): v is PartialConfig {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a merged partial config; errors name the field path. */
export function validateConfig(input: PartialConfig, source = 'config'): Config {
  const r = ConfigSchema.safeParse(input);
  if (!r.success) {
    const first = r.error.issues[0];
    const field = first ? first.path.join('.') + (first.code === 'unrecognized_keys' ? `.${(first as { keys: string[] }).keys.join(',')}` : '') : '';
    throw new WiseError('WISE_BAD_CONFIG', `invalid ${source}: ${z.prettifyError(r.error)}`, { field, issues: r.error.issues });
  }
  return r.data;
}

export interface ResolveOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  flags?: PartialConfig;
  /** Layers between defaults and the file, e.g. the model family's config/<family>.yaml. */
  base?: PartialConfig[];
}

/** defaults < base layers < file < env < flags. */
export function resolveConfig(opts: ResolveOptions = {}): Config {
  let merged: PartialConfig = {};
  for (const b of opts.base ?? []) merged = deepMerge(merged, b);
  const file = opts.file ?? opts.env?.WISE_CONFIG;
  if (file) merged = deepMerge(merged, readConfigFile(file));
  if (opts.env) merged = deepMerge(merged, envOverrides(opts.env));
  if (opts.flags) merged = deepMerge(merged, opts.flags);
  return validateConfig(merged);
}
