/**
 * A server app (buildServer, for app.inject) over the real WiseModelService: a model folder, a WISE
 * editor on an in-memory store with the folder's family config (as `wise serve` would resolve it),
 * no edits. For the bundled model the irrelevant-sample pool is its train split; for a fixture, two
 * sentences (the tests that use it do not edit).
 */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { WiseEditor } from '../../src/edits/editor.js';
import { MemoryBacking, MemoryShardStore } from '../../src/shards/index.js';
import { configFor } from '../../src/config/family.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { irrelevantPool } from '../../src/eval/datasets.js';
import { WiseModelService } from '../../src/serve/wise-service.js';
import { buildServer } from '../../src/serve/index.js';

export interface WiseApp {
  lm: CausalLM;
  editor: WiseEditor;
  service: WiseModelService;
  app: FastifyInstance;
  /** POST `body` (with the current model id) to `url`, expecting 200; the JSON reply */
  post(url: string, body: Record<string, unknown>): Promise<Record<string, any>>;
  close(): Promise<void>;
}

export async function openWiseApp(dir: string, o: { batchSize?: number } = {}): Promise<WiseApp> {
  const cfg = configFor(dir);
  const lm = await CausalLM.load(dir);
  const pool = dir === bundledModelDir() ? irrelevantPool(cfg) : ['The sky is blue.', 'Water is wet.'];
  const editor = await WiseEditor.open({ lm, store: new MemoryShardStore(new MemoryBacking()), config: cfg.wise, pool });
  const service = new WiseModelService({ lm, editor, ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}) });
  const app = buildServer({ service, token: 't' });
  await app.ready();
  return {
    lm, editor, service, app,
    post: async (url, body) => {
      const r = await app.inject({ method: 'POST', url, payload: { model: service.baseName, ...body } });
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as Record<string, any>;
    },
    close: async () => {
      await app.close();
      await editor.close();
    },
  };
}
