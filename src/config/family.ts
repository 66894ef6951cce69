/**
 * The config a model folder gets: DEFAULTS < config/<family>.yaml < the caller's file, env and
 * flags. The family file is config/wise-base.yaml for the bundled model, else
 * config/<model_type>.yaml from the folder's config.json (mistral uses llama's); a family without
 * a file gets the defaults. The CLI resolves every command's config this way, and library users
 * call `configFor` to edit a model with the settings the CLI would use.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { WiseError } from '../util/errors.js';
import { readConfigFile, resolveConfig } from './load.js';
import { bundledModelDir, packageRoot } from './paths.js';
import type { Config } from './schema.js';

/** The config layer of the model's family (empty when there is no file for it). */
export function familyLayer(dir: string): Record<string, unknown>[] {
  const isBundled = path.resolve(dir) === path.resolve(bundledModelDir());
  let name = 'wise-base';
  if (!isBundled) {
    const cfgFile = path.join(dir, 'config.json');
    if (!existsSync(cfgFile)) return [];
    let json: { model_type?: unknown } | null;
    try {
      json = JSON.parse(readFileSync(cfgFile, 'utf8')) as { model_type?: unknown } | null;
    } catch (e) {
      throw new WiseError('WISE_BAD_CONFIG', `${cfgFile}: invalid JSON: ${(e as Error).message}`, { file: cfgFile }, { cause: e });
    }
    const mt = String(json?.model_type ?? '');
    name = mt === 'mistral' ? 'llama' : mt;
  }
  const f = path.join(packageRoot(), 'config', `${name}.yaml`);
  return existsSync(f) ? [readConfigFile(f)] : [];
}

/** The resolved config for the model in `modelDir`, with the caller's layers over its family's file. */
export function configFor(modelDir: string, o: { file?: string; env?: Record<string, string | undefined>; flags?: Record<string, unknown> } = {}): Config {
  return resolveConfig({ base: familyLayer(modelDir), env: o.env ?? {}, ...(o.file ? { file: o.file } : {}), ...(o.flags ? { flags: o.flags } : {}) });
}
