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
import { fromEasyEditHparams, isEasyEditHparams } from './easyedit.js';

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
  // an EasyEdit hparams/WISE/*.yaml (it has alg_name) is read as the wise-edit settings it stands for
  if (isEasyEditHparams(doc as PartialConfig)) return fromEasyEditHparams(doc as PartialConfig, file);
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

/** defaults < base layers < file < env < flags. An invalid value names the layer it came from (the file, the environment, the flags). */
export function resolveConfig(opts: ResolveOptions = {}): Config {
  const file = opts.file ?? opts.env?.WISE_CONFIG;
  const layers: [string, PartialConfig][] = [
    ...(opts.base ?? []).map((b): [string, PartialConfig] => ['config', b]),
    ...(file ? [[`config file ${file}`, readConfigFile(file)] as [string, PartialConfig]] : []),
    ...(opts.env ? [['environment (WISE_*)', envOverrides(opts.env)] as [string, PartialConfig]] : []),
    ...(opts.flags ? [['command-line flags', opts.flags] as [string, PartialConfig]] : []),
  ];
  const merged = layers.reduce((acc, [, l]) => deepMerge(acc, l), {} as PartialConfig);
  const r = ConfigSchema.safeParse(merged);
  if (r.success) return r.data;
  // the last layer that sets the first offending key (or, for an unknown key, holds it) is where it came from
  const issue = r.error.issues[0];
  const path = [...(issue?.path ?? []), ...(issue?.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [])].map(String);
  const source = [...layers].reverse().find(([, l]) => hasPath(l, path))?.[0] ?? 'config';
  return validateConfig(merged, source);
}

function hasPath(obj: PartialConfig, path: readonly string[]): boolean {
  let cur: unknown = obj;
  for (const k of path) {
    if (!isPlain(cur) || !(k in cur)) return false;
    cur = cur[k];
  }
  return true;
}
