/**
 * Logit bias, penalties and top-k/min-p inside decoding (DecodeBatch.sampleInto), on the tiny HF
 * fixtures: every greedy token is the argmax of its step's raw logits shaped with the sequence so
 * far (prompt + tokens before it), the raw logits stay what the model computed (log-probabilities
 * report them), and rows with different settings decoding in one batch each get what they get alone.
 */
import { beforeAll, expect, it } from 'vitest';
import { CausalLM, type GenerateOpts } from '../../src/model/causal-lm.js';
import { shapeLogits, type LogitShaping } from '../../src/model/logit-shaping.js';
import { argmax } from '../../src/model/sampling.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';

const PROMPT = [5, 17, 9, 17, 30, 2, 11];
const N = 16;

describeShared(
  'logit shaping while decoding (tiny-llama)',
  () => {
    let lm: CausalLM;
    beforeAll(async () => {
      lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
    });

    const greedy = (shaping?: LogitShaping): GenerateOpts => ({ maxTokens: N, temperature: 0, stopIds: [], ...(shaping ? { shaping } : {}) });

    it('each greedy token is the argmax of its raw logits shaped with the context so far', async () => {
      const plain = await lm.generate(PROMPT, greedy(), true);
      const settings: LogitShaping[] = [
        { repetitionPenalty: 1.8 },
        { frequencyPenalty: 2, presencePenalty: 0.5 },
        { logitBias: new Map([[plain.ids[0]!, -100], [plain.ids[1]!, 5]]) },
      ];
      for (const s of settings) {
        const out = await lm.generate(PROMPT, greedy(s), true);
        expect(out.ids).toHaveLength(N);
        expect(out.ids, JSON.stringify([...Object.entries(s)])).not.toEqual(plain.ids); // the setting changed something
        out.ids.forEach((id, t) => {
          const raw = out.stepLogits![t]!;
          expect(argmax(shapeLogits(raw, s, [...PROMPT, ...out.ids.slice(0, t)], out.ids.slice(0, t)))).toBe(id);
        });
        // the first step's raw logits are the plain run's: shaping never touches what the model computed
        expect(Array.from(out.stepLogits![0]!)).toEqual(Array.from(plain.stepLogits![0]!));
      }
      // a banned token is never chosen
      const banned = await lm.generate(PROMPT, greedy({ logitBias: new Map(plain.ids.map((id) => [id, -100])) }));
      for (const id of plain.ids) expect(banned.ids).not.toContain(id);
    });

    it('rows with different settings in one batch get what they get alone', async () => {
      const opts: GenerateOpts[] = [
        greedy({ repetitionPenalty: 1.5 }),
        greedy(),
        { maxTokens: N, temperature: 1.2, topK: 5, minP: 0.05, seed: 11, stopIds: [], shaping: { frequencyPenalty: 1 } },
        { maxTokens: N, temperature: 0.9, topP: 0.8, seed: 12, stopIds: [] },
      ];
      const prompts = [PROMPT, PROMPT.slice(2), [3, 4], PROMPT];
      const together = await lm.generateMany(prompts, opts);
      const alone = await Promise.all(prompts.map((p, i) => lm.generate(p, opts[i]!)));
      expect(together.map((o) => o.ids)).toEqual(alone.map((o) => o.ids));
      // top-k 5 at temperature 1.2: every sampled token is among its step's 5 most likely after shaping
      const k5 = await lm.generate(prompts[2]!, opts[2]!, true);
      k5.ids.forEach((id, t) => {
        const shaped = shapeLogits(k5.stepLogits![t]!, opts[2]!.shaping, [...prompts[2]!, ...k5.ids.slice(0, t)], k5.ids.slice(0, t));
        expect(Array.from(shaped).filter((v) => v > shaped[id]!).length).toBeLessThan(5);
      });
    });
  },
  ['fixtures/hf/tiny-llama'],
);
