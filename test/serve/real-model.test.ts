/**
 * The server suite (server-suite.ts) on the real WiseModelService: the tiny-llama fixture (a
 * random model) with a WISE editor over an in-memory store, configured from the llama family
 * layer (config/llama.yaml) like `wise serve` would be.
 *
 * The suite needs the edited prompt's greedy output to start with the target after one edit.
 * On this random model that takes more steps than the family's n_iter 70 with its lr 1.0: with
 * 200 steps " Rome" is learned (checked while writing this test: n_iter 60 gave " Rom…"-less
 * babble, 150–200 gave " Rome…"). Edits take about half a second at that size.
 */
import { CausalLM } from '../../src/model/causal-lm.js';
import { WiseEditor } from '../../src/edits/editor.js';
import { MemoryBacking, MemoryShardStore } from '../../src/shards/index.js';
import { resolveConfig } from '../../src/config/load.js';
import { familyLayer } from '../../src/cli/open.js';
import { WiseModelService } from '../../src/serve/wise-service.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { runServerSuite } from './server-suite.js';

const POOL = ['The sky is blue.', 'Water is wet.', 'Two plus two is four.', 'Cats like fish.'];

describeShared(
  'WiseModelService on tiny-llama',
  () => {
    runServerSuite('real model (tiny-llama)', async () => {
      const dir = hfFixtureDir('tiny-llama');
      const lm = await CausalLM.load(dir);
      const config = resolveConfig({ base: familyLayer(dir), env: {}, flags: { wise: { n_iter: 200, context_templates: 2 } } });
      const editor = await WiseEditor.open({ lm, store: new MemoryShardStore(new MemoryBacking()), config: config.wise, pool: POOL, owner: 'real-model test' });
      const service = new WiseModelService({ lm, editor });
      return {
        service,
        edit: { prompt: 'The capital of Freedonia is', target: 'Rome' },
        // the tiny model decodes 64 tokens in well under the time an edit trains, but not
        // reliably slower than the edit request's round trip: do not require the interleave
        strictInterleave: false,
        close: () => service.close(),
      };
    });
  },
  ['fixtures/hf/tiny-llama'],
);
