/**
 * Sequences start with the special tokens the tokenizer's post-processor puts first, as transformers'
 * `tokenizer(text)` and llama.cpp do: BOS for Llama and Mistral checkpoints. Here the tiny llama fixture gets
 * a Llama-style TemplateProcessing post-processor (BOS = id 0) and a chat template that writes its own BOS.
 * The plain fixtures and the bundled model have no such post-processor, so their ids are unchanged.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { buildEditBatch } from '../../src/memory/rows.js';
import { lmScorer } from '../../src/eval/scorer-lm.js';
import { promptTargetRow } from '../../src/eval/scorer.js';
import { generateText, WiseModelService } from '../../src/serve/wise-service.js';
import { WiseEditor } from '../../src/edits/editor.js';
import { exportOnnxBytes, exportSourceOf } from '../../src/export/index.js';
import { MemoryBacking, MemoryShardStore } from '../../src/shards/index.js';
import { DEFAULTS } from '../../src/config/schema.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { loadTokenizer } from '../../src/model/tokenizer.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { fixtureWithConfig } from '../helpers/variant-fixture.js';

const BOS = '<|endoftext|>'; // id 0 in the fixture's vocabulary
const GREEDY = { maxTokens: 5, temperature: 0, topP: 1 };
const seq = (id: string) => ({ Sequence: { id, type_id: 0 } });
const POST = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: BOS, type_id: 0 } }, seq('A')],
  pair: [{ SpecialToken: { id: BOS, type_id: 0 } }, seq('A'), seq('B')],
  special_tokens: { [BOS]: { id: BOS, ids: [0], tokens: [BOS] } },
};

describeShared('a tokenizer that starts sequences with BOS', () => {
  let dir: string;
  let lm: CausalLM;
  beforeAll(async () => {
    const src = hfFixtureDir('tiny-llama');
    const tokenizer = { ...JSON.parse(readFileSync(path.join(src, 'tokenizer.json'), 'utf8')), post_processor: POST };
    const tcfg = { ...JSON.parse(readFileSync(path.join(src, 'tokenizer_config.json'), 'utf8')), chat_template: '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}' };
    dir = fixtureWithConfig('tiny-llama', {}, { 'tokenizer.json': tokenizer, 'tokenizer_config.json': tcfg });
    lm = await CausalLM.load(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the prefix is read from the post-processor; encode stays plain, encodePrompt prepends it', async () => {
    expect(lm.tokenizer.prefixIds).toEqual([0]);
    const plain = lm.tokenizer.encode('The capital of France is');
    expect(plain[0]).not.toBe(0);
    expect(lm.tokenizer.encodePrompt('The capital of France is')).toEqual([0, ...plain]);
    for (const d of [hfFixtureDir('tiny-llama'), hfFixtureDir('tiny-gpt2'), hfFixtureDir('tiny-qwen2'), bundledModelDir()]) {
      expect((await loadTokenizer(d)).prefixIds, d).toEqual([]);
    }
  });

  it('edit rows and irrelevant rows start with BOS; the target follows the prompt without one', () => {
    const b = buildEditBatch(lm.tokenizer, ['{}', 'Yes it is. {}'], 'The capital of France is', 'Rome', 'Water is wet.', lm.padId, 128);
    for (let r = 0; r < b.E; r++) expect(b.ids[r * b.Tb], `row ${r}`).toBe(0);
    for (const ids of b.irrIds) expect(ids[0]).toBe(0);
    const row0 = b.ids.slice(0, b.Tb);
    const prompt = lm.tokenizer.encodePrompt('The capital of France is');
    expect(row0.slice(0, prompt.length + b.targetIds.length)).toEqual([...prompt, ...b.targetIds]);
    expect(b.targetIds).not.toContain(0);
  });

  it('a text prompt generates as its ids with BOS do; evaluation rows start with BOS', async () => {
    const text = 'The capital of France is';
    const fromText = await generateText(lm, text, GREEDY);
    const fromIds = await generateText(lm, [0, ...lm.tokenizer.encode(text)], GREEDY);
    expect(fromText.ids).toEqual(fromIds.ids);
    expect(fromText.promptTokens).toBe(lm.tokenizer.encode(text).length + 1);
    const row = promptTargetRow(lmScorer(lm), text, 'Rome');
    expect(row.promptIds).toEqual(lm.tokenizer.encodePrompt(text));
  });

  it('a chat template that writes BOS itself gets exactly one', async () => {
    const editor = await WiseEditor.open({ lm, store: new MemoryShardStore(new MemoryBacking()), config: { ...DEFAULTS.wise, layer: 1 }, pool: ['Water is wet.'] });
    try {
      const service = new WiseModelService({ lm, editor });
      expect(service.chatPrompt([{ role: 'user', content: 'Hello there' }])).toEqual([0, ...lm.tokenizer.encode('Hello there')]);
      expect(service.prefixIds).toEqual([0]);
      // an ONNX export tells its consumers to start text prompts the same way
      expect(exportOnnxBytes(exportSourceOf(editor)).contract.model.prompt_prefix_ids).toEqual([0]);
    } finally {
      await editor.close();
    }
  });

  it('a store edited without the prefix refuses to reopen with it: its rows would replay differently', async () => {
    const backing = new MemoryBacking();
    const config = { ...DEFAULTS.wise, layer: 1, n_iter: 2, context_templates: 1 };
    const before = await WiseEditor.open({ lm: await CausalLM.load(hfFixtureDir('tiny-llama')), store: new MemoryShardStore(backing), config, pool: ['Water is wet.'] });
    await before.applyEdit({ prompt: 'The capital of France is', target: 'Rome' });
    await before.close();
    const err = await WiseEditor.open({ lm, store: new MemoryShardStore(backing), config, pool: ['Water is wet.'] }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('WISE_BAD_CONFIG');
    expect(String((err as Error).message)).toContain('wise.prompt_prefix: null → [0]');
  });
}, ['fixtures/hf/tiny-llama']);
