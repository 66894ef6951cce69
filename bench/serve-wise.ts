/**
 * The real services for `npm run bench:serve`: the bundled model with WISE (an in-memory store
 * that receives edits during the run) against the same model with no memories (the plain
 * forward graph, no routing). The config's serve.batch_size (WISE_SERVE__BATCH_SIZE) sets how many
 * rows of the concurrent requests decode together.
 */
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CausalLM } from '../src/model/causal-lm.js';
import { Engine } from '../src/engine/index.js';
import { engineOptions, trainProcess } from '../src/cli/open.js';
import { WiseEditor } from '../src/edits/editor.js';
import { MemoryShardStore } from '../src/shards/index.js';
import { resolveConfig, readConfigFile } from '../src/config/load.js';
import { loadTrainSplit } from '../src/eval/datasets.js';
import { WiseModelService } from '../src/serve/wise-service.js';
import type { BenchServices } from './serve.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function createBenchServices(): Promise<BenchServices> {
  // The engine as `wise serve` sets it up (engine.spinning null: off when serving); WISE_ENGINE__* variables override.
  const resolved = resolveConfig({ base: [readConfigFile(path.join(ROOT, 'config', 'wise-base.yaml'))], env: process.env });
  const eo = engineOptions(resolved.engine, 'serve');
  const lm = await CausalLM.load(path.join(ROOT, 'models', 'wise-base'), new Engine(eo));
  const config = resolved.wise;
  const pool = loadTrainSplit(path.join(ROOT, 'datasets', 'bundled-train.json'));
  // engine.train_process as `wise serve` resolves it (null: on); WISE_ENGINE__TRAIN_PROCESS=false trains on the main thread
  const child = trainProcess(resolved.engine, 'serve');
  const routedEd = await WiseEditor.open({ lm, store: new MemoryShardStore(), config, pool, trainProcess: child });
  const plainEd = await WiseEditor.open({ lm, store: new MemoryShardStore(), config, pool });
  // Start the routed model with a few memories so that routing is exercised from the first request.
  const bench = JSON.parse(readFileSync(path.join(ROOT, 'datasets', 'bundled-zsre.json'), 'utf8')) as { src: string; alt: string }[];
  for (const r of bench.slice(0, 4)) await routedEd.applyEdit({ prompt: r.src, target: r.alt });
  return {
    routed: new WiseModelService({ lm, editor: routedEd, baseName: 'wise-base', batchSize: resolved.serve.batch_size }),
    plain: new WiseModelService({ lm, editor: plainEd, baseName: 'wise-base', batchSize: resolved.serve.batch_size }),
    label: `wise-base (6.45M params) with WISE: 4 edits before the run, more applied during it; plain = same model, no memories; engine: ${eo.intraOpNumThreads} thread(s), spinning ${eo.allowSpinning ? 'on' : 'off'}; edits train ${child ? 'in a child process' : 'on the main thread'}; serve.batch_size ${resolved.serve.batch_size} (rows of concurrent requests decoded together)`,
    edits: bench.slice(4, 40).map((r) => ({ prompt: r.src, target: r.alt })),
    close: async () => {
      await routedEd.close();
      await plainEd.close();
    },
  };
}
