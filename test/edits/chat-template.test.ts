/**
 * wise.use_chat_template (EasyEdit's option for chat models): the editor runs its texts under the checkpoint's
 * chat template, so an edit answers a chat query. On the bundled model with a question/answer template
 * ("Q: … A:", a phrasing of its training corpus): edited facts asked through the template answer the new target
 * from their memory; unrelated facts asked the same way keep their answers and route to the original layer; the
 * evaluation harness scores WISE through the same template.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { WiseEditor } from '../../src/edits/editor.js';
import { probe } from '../../src/edits/probe.js';
import { MemoryBacking, MemoryShardStore } from '../../src/shards/index.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { configFor } from '../../src/config/family.js';
import { irrelevantPool } from '../../src/eval/datasets.js';
import { demoEdits } from '../../src/cli/demo.js';
import { WiseModelService } from '../../src/serve/wise-service.js';
import { WiseMethod } from '../../src/eval/methods/wise.js';
import { createMethod } from '../../src/eval/methods/index.js';
import { evaluateSide } from '../../src/eval/evaluate.js';
import { promptTargetRow } from '../../src/eval/scorer.js';
import type { EvalRecord } from '../../src/eval/datasets.js';
import { folderWithConfig } from '../helpers/variant-fixture.js';

const PREAMBLE = 'The following is a conversation with a helpful assistant that knows the facts of the world.';
const TEMPLATE = `${PREAMBLE}{% for m in messages %} Q: {{ m.content }}{% endfor %}{% if add_generation_prompt %} A:{% endif %}`;

describe('wise.use_chat_template on the bundled model', () => {
  let dir: string;
  let lm: CausalLM;
  let editor: WiseEditor;
  const { edits, unrelated } = demoEdits(3);
  const config = { ...configFor(bundledModelDir()).wise, use_chat_template: true };

  beforeAll(async () => {
    const tcfg = JSON.parse(readFileSync(path.join(bundledModelDir(), 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    dir = folderWithConfig(bundledModelDir(), {}, { 'tokenizer_config.json': { ...tcfg, chat_template: TEMPLATE } });
    lm = await CausalLM.load(dir);
    editor = await WiseEditor.open({ lm, store: new MemoryShardStore(new MemoryBacking()), config, pool: irrelevantPool(configFor(bundledModelDir())) });
  }, 120_000);
  afterAll(async () => {
    await editor?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('edit rows, the bare prompt and the irrelevant rows are the template around the text; the target follows', () => {
    const tok = lm.tokenizer;
    const q = editor.memory.queryIds(edits[0]!.prompt);
    expect(tok.decode(q)).toBe(`${PREAMBLE} Q: ${edits[0]!.prompt} A:`);
    const b = editor.memory.batch(['{}', 'Yes, {}'], { prompt: edits[0]!.prompt, target: edits[0]!.target, irrelevant: 'Water is wet.' });
    const row1 = b.ids.slice(b.Tb, b.Tb + b.mask.slice(b.Tb, 2 * b.Tb).reduce((a, x) => a + x, 0));
    expect(tok.decode(row1)).toBe(`${PREAMBLE} Q: Yes, ${edits[0]!.prompt} A: ${edits[0]!.target}`);
    expect(b.irrTexts.map((_, i) => tok.decode(b.irrIds[i]!))).toEqual([`${PREAMBLE} Q: Water is wet. A:`, `${PREAMBLE} Q: ${edits[0]!.prompt} A:`]);
    // the server's chat route tokenizes a user message the same way
    const service = new WiseModelService({ lm, editor });
    expect(service.chatPrompt([{ role: 'user', content: edits[0]!.prompt }])).toEqual(q);
  });

  it('edited facts asked through the template answer the new target from their memory; unrelated ones are untouched', async () => {
    const asChat = (t: string): number[] => editor.memory.queryIds(t);
    const locPairs = unrelated.map((u) => ({ prompt: u.prompt, target: u.answer }));
    const before = await probe(lm, locPairs, undefined, 32, asChat);
    for (const e of edits) await editor.applyEdit({ prompt: e.prompt, target: e.target });
    const routing = editor.variant();
    const post = await probe(lm, edits.map((e) => ({ prompt: e.prompt, target: e.target })), routing, 32, asChat);
    const rel = post.reduce((a, r) => a + r.accuracy, 0) / post.length;
    expect(rel).toBe(1);
    expect(post.map((r) => r.memory)).not.toContain('main');
    const after = await probe(lm, locPairs, routing, 32, asChat);
    after.forEach((r, i) => {
      expect(r.argmax, unrelated[i]!.prompt).toEqual(before[i]!.argmax);
      expect(r.memory, unrelated[i]!.prompt).toBe('main');
    });
  }, 120_000);

  it('the evaluation harness scores WISE as the editor runs its prompts: the template around each prompt, the target after it, before the edits and after', async () => {
    const m = new WiseMethod({ lm, config, pool: irrelevantPool(configFor(bundledModelDir())), newStore: () => new MemoryShardStore(new MemoryBacking()) });
    try {
      await m.reset();
      const pre = m.scorer();
      const row = promptTargetRow(pre, edits[0]!.prompt, edits[0]!.target);
      expect(lm.tokenizer.decode(row.promptIds)).toBe(`${PREAMBLE} Q: ${edits[0]!.prompt} A:`);
      expect(lm.tokenizer.decode(row.targetIds)).toBe(` ${edits[0]!.target}`);
      const recs: EvalRecord[] = edits.map((e, i) => ({ id: `chat:${i}`, kind: 'zsre', prompt: e.prompt, target: e.target, locality: { prompt: unrelated[i]!.prompt, answer: unrelated[i]!.answer } }));
      const before = await evaluateSide(pre, recs);
      expect(Math.max(...before.map((o) => o.metrics.rewrite_acc!))).toBeLessThan(1); // the new targets are not what the model says
      for (const r of recs) await m.applyEdit(r);
      const after = await evaluateSide(m.scorer(), recs);
      expect(after.map((o) => o.metrics.rewrite_acc)).toEqual(recs.map(() => 1));
      after.forEach((o, i) => expect(o.localityIds, recs[i]!.locality!.prompt).toEqual(before[i]!.localityIds));
    } finally {
      await m.close();
    }
  }, 120_000);

  it('is refused where it cannot hold: a model without a template, and a baseline beside WISE in the harness (it scores plain text)', async () => {
    const plain = await CausalLM.load(bundledModelDir());
    const err = await WiseEditor.open({ lm: plain, store: new MemoryShardStore(new MemoryBacking()), config, pool: ['Water is wet.'] }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('WISE_BAD_CONFIG');
    expect(String((err as Error).message)).toContain('wise.use_chat_template');
    for (const name of ['grace', 'ft-l', 'ft-m']) {
      expect(() => createMethod(name, { lm, config, pool: [], newStore: () => new MemoryShardStore() }), name).toThrow(expect.objectContaining({ code: 'WISE_BAD_CONFIG', message: expect.stringContaining(name) }));
    }
    expect(createMethod('wise', { lm, config, pool: [], newStore: () => new MemoryShardStore() }).method).toBeInstanceOf(WiseMethod);
  });
});
