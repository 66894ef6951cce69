/**
 * generation_config.json's eos_token_id: transformers' generate stops on those ids as well as config.json's
 * (Qwen2.5-Instruct lists <|im_end|> in config.json and adds <|endoftext|> there; Llama 3 instruct models list
 * <|eot_id|>). A malformed file is a clear error naming it.
 */
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { isWiseError } from '../../src/util/errors.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { fixtureWithConfig } from '../helpers/variant-fixture.js';

const PROMPT = [5, 17, 300, 42, 7];
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const variant = (generation: Record<string, unknown>): string => {
  const d = fixtureWithConfig('tiny-llama', {}, { 'generation_config.json': generation });
  dirs.push(d);
  return d;
};

describeShared('generation_config.json eos ids', () => {
  it('generation stops on an eos id that only generation_config.json lists', async () => {
    const plain = await CausalLM.load(hfFixtureDir('tiny-llama'));
    const free = await plain.generate(PROMPT, { maxTokens: 8 });
    expect(free.ids.length).toBe(8); // no eos in the first 8 greedy tokens
    const stopAt = free.ids.findIndex((id, i) => i >= 2 && !free.ids.slice(0, i).includes(id));
    const stopId = free.ids[stopAt]!;
    const lm = await CausalLM.load(variant({ eos_token_id: [0, stopId] }));
    expect(lm.eosIds).toEqual(expect.arrayContaining([0, stopId]));
    const stopped = await lm.generate(PROMPT, { maxTokens: 8 });
    expect(stopped.ids.slice(0, stopAt)).toEqual(free.ids.slice(0, stopAt));
    expect(stopped.ids.length).toBeLessThanOrEqual(stopAt + 1);
    expect(stopped.ids.length).toBeLessThan(free.ids.length);
  });

  it('a malformed eos_token_id there is WISE_BAD_CONFIG naming the file and field', async () => {
    for (const bad of [{ eos_token_id: 'x' }, { eos_token_id: [1, -2] }, { eos_token_id: 99999 }]) {
      const err = await CausalLM.load(variant(bad)).catch((e: unknown) => e);
      expect(isWiseError(err) && err.code).toBe('WISE_BAD_CONFIG');
      expect(String((err as Error).message)).toMatch(/generation_config\.json: eos_token_id/);
    }
  });
}, ['fixtures/hf/tiny-llama']);
