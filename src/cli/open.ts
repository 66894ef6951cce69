/**
 * Opening what commands work on: the model (checkpoint folder or the bundled one), the
 * family's config layer (config/<family>.yaml, or config/wise-base.yaml for the bundled model)
 * and the editor over the store. Shared by the CLI commands and `wise serve`.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { WiseError } from '../util/errors.js';
import { Engine, type EngineOptions } from '../engine/index.js';
import { CausalLM } from '../model/causal-lm.js';
import { resolveConfig } from '../config/load.js';
import { bundledModelDir, defaultStoreDir } from '../config/paths.js';
import type { Config } from '../config/schema.js';
import { LevelShardStore } from '../shards/index.js';
import { WiseEditor } from '../edits/editor.js';
import { irrelevantPool } from '../eval/datasets.js';
import { familyLayer } from '../config/family.js';
import type { CommandContext, GlobalOptions } from './context.js';

export function modelDir(config: Config): string {
  return path.resolve(config.model ?? bundledModelDir());
}

/** Re-resolves the config with the model family's layer under the user's file, env and flags. */
export function withFamily(ctx: CommandContext, g: GlobalOptions): Config {
  const dir = modelDir(ctx.config);
  const flags: Record<string, unknown> = {};
  if (g.model) flags.model = g.model;
  if (g.db) flags.store = { db: g.db };
  return resolveConfig({ base: familyLayer(dir), file: g.config, env: process.env, flags });
}

/** What a process mostly does with its model: one stream of work (edits, evaluation, one generation), or concurrent requests. */
export type Workload = 'batch' | 'serve';

/** The engine settings of `engine` (config) for a workload: `spinning: null` resolves to off when serving. */
export function engineOptions(engine: Config['engine'], workload: Workload): EngineOptions {
  return {
    intraOpNumThreads: engine.threads,
    executionProviders: engine.provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    cacheBudgetBytes: engine.session_budget_mb * 2 ** 20,
    allowSpinning: engine.spinning ?? workload === 'batch',
  };
}

export async function openModel(ctx: CommandContext, workload: Workload = 'batch'): Promise<CausalLM> {
  const dir = modelDir(ctx.config);
  if (!existsSync(path.join(dir, 'config.json'))) {
    throw new WiseError('WISE_FILE_NOT_FOUND', `no model at ${dir} (config.json missing); pass --model DIR with a Hugging Face checkpoint`, { file: path.join(dir, 'config.json') });
  }
  ctx.log.info(`loading model ${dir}`);
  return CausalLM.load(dir, new Engine(engineOptions(ctx.config.engine, workload)));
}

export function storeDir(config: Config): string {
  return path.resolve(config.store.db ?? defaultStoreDir());
}

/** Whether edits train in a child process (`engine.train_process`: null resolves to on when serving). */
export function trainProcess(engine: Config['engine'], workload: Workload): boolean {
  return engine.train_process ?? workload === 'serve';
}

export async function openEditor(ctx: CommandContext, lm: CausalLM, owner: string, dir = storeDir(ctx.config), workload: Workload = 'batch'): Promise<WiseEditor> {
  const store = new LevelShardStore(dir, { blobThreshold: ctx.config.store.blob_threshold, sync: ctx.config.store.sync });
  ctx.log.info(`store ${dir}`);
  return WiseEditor.open({ lm, store, config: ctx.config.wise, pool: irrelevantPool(ctx.config), owner, log: ctx.log, trainProcess: trainProcess(ctx.config.engine, workload) });
}
