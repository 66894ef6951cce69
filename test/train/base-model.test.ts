/**
 * The committed base model models/wise-base: its files follow the Hugging Face layout of the
 * tiny-llama reference fixture (saved by transformers), and it knows the facts it was trained
 * on (a fixed 200-fact sample, one training phrasing each, teacher-forced top-1 ≥ 0.9).
 * The accuracy check fails — it does not skip — when the model is missing.
 */
import { existsSync, openSync, readFileSync, readSync, closeSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { expectedShapes } from '../../src/model/arch.js';
import { BpeTokenizer, bpeFromTokenizerJson } from '../../src/data/bpe.js';
import { factAccuracy } from '../../src/train/accuracy.js';
import { loadFactSample } from '../../scripts/lib/facts.js';
import { REPO_ROOT, describeShared, hfFixtureDir } from '../helpers/shared.js';

const MODEL = path.join(REPO_ROOT, 'models', 'wise-base');
const FIXTURE = 'fixtures/hf/tiny-llama';

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The safetensors header: tensor name → entry, plus the metadata. */
function readHeader(file: string): { tensors: Map<string, HeaderEntry>; metadata: Record<string, string> | undefined } {
  const fd = openSync(file, 'r');
  try {
    const len = Buffer.alloc(8);
    readSync(fd, len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 8);
    const json = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
    const metadata = json.__metadata__ as Record<string, string> | undefined;
    delete json.__metadata__;
    return { tensors: new Map(Object.entries(json as Record<string, HeaderEntry>)), metadata };
  } finally {
    closeSync(fd);
  }
}

/** Tensor names with the layer index replaced by a placeholder: the per-layer templates. */
const templateOf = (name: string): string => name.replace(/^model\.layers\.\d+\./, 'model.layers.{i}.');
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('models/wise-base', () => {
  it('has the Hugging Face files', () => {
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(path.join(MODEL, f)), `models/wise-base/${f} is missing`).toBe(true);
    }
  });

  it('stores every tensor of its config, float32, each layer complete', () => {
    const cfg = readJson(path.join(MODEL, 'config.json'));
    const { tensors, metadata } = readHeader(path.join(MODEL, 'model.safetensors'));
    expect(metadata?.format).toBe('pt');
    for (const [name, e] of tensors) expect(e.dtype, name).toBe('F32');
    const L = cfg.num_hidden_layers as number;
    const perLayer = new Set([...tensors.keys()].filter((n) => n.startsWith('model.layers.')).map(templateOf));
    for (let i = 0; i < L; i++) for (const t of perLayer) expect(tensors.has(t.replace('{i}', String(i))), `${t} of layer ${i}`).toBe(true);
    expect([...tensors.keys()].filter((n) => /^model\.layers\.(\d+)\./.test(n) && Number(/^model\.layers\.(\d+)\./.exec(n)![1]) >= L)).toEqual([]);
  });

  it('loads with the project loader, tensor shapes as its config implies', async () => {
    const lm = await CausalLM.load(MODEL, new Engine({ intraOpNumThreads: 2 }));
    expect(lm.ckpt.unused).toEqual([]);
    const shapes = expectedShapes(lm.spec, lm.config);
    expect(lm.ckpt.weights.size).toBe(shapes.size);
    for (const [name, shape] of shapes) expect(lm.ckpt.weights.get(name)?.shape, name).toEqual([...shape]);
  });

  it('knows the CI sample: 200 facts, training phrasings, accuracy ≥ 0.9', async () => {
    expect(existsSync(path.join(MODEL, 'model.safetensors')), 'models/wise-base/model.safetensors is missing: run `npm run train:base`').toBe(true);
    const lm = await CausalLM.load(MODEL, new Engine({ intraOpNumThreads: 2 }));
    const tok = new BpeTokenizer(bpeFromTokenizerJson(JSON.parse(readFileSync(path.join(MODEL, 'tokenizer.json'), 'utf8'))));
    const sample = loadFactSample(REPO_ROOT, tok, 200, 'ci-sample');
    expect(sample).toHaveLength(200);
    const graph = lm.graph('test:forward', { batch: 'B', seq: 'T', logits: 'all', name: 'forward' });
    const r = await factAccuracy(lm.engine, graph, lm.spec, lm.config, sample, 50, lm.padId);
    console.log(`wise-base CI sample: training-phrasing accuracy ${r.accuracy.toFixed(3)} (${r.correct.filter(Boolean).length}/200)`);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.9);
  });
});

describeShared(
  'models/wise-base follows the tiny-llama fixture layout (transformers 5.17)',
  () => {
    const fixtureDir = (): string => hfFixtureDir('tiny-llama');

    it('config.json has exactly the fixture’s keys (nested rope_parameters included)', () => {
      const ours = readJson(path.join(MODEL, 'config.json'));
      const ref = readJson(path.join(fixtureDir(), 'config.json'));
      expect(Object.keys(ours).sort()).toEqual(Object.keys(ref).sort());
      expect(Object.keys(ours.rope_parameters as object).sort()).toEqual(Object.keys(ref.rope_parameters as object).sort());
      for (const k of ['architectures', 'model_type', 'dtype', 'hidden_act', 'rope_parameters', 'tie_word_embeddings', 'attention_bias', 'mlp_bias', 'transformers_version']) {
        expect(ours[k], k).toEqual(ref[k]);
      }
      for (const [k, v] of Object.entries(ref)) {
        // same JSON types (pad_token_id may be null in one and an id in the other)
        if (v !== null && ours[k] !== null) expect(typeof ours[k], k).toBe(typeof v);
      }
    });

    it('tensor names follow the same templates, all F32 like the fixture', () => {
      const ours = readHeader(path.join(MODEL, 'model.safetensors'));
      const ref = readHeader(path.join(fixtureDir(), 'model.safetensors'));
      const templates = (m: Map<string, HeaderEntry>): string[] => [...new Set([...m.keys()].map(templateOf))].sort();
      expect(templates(ours.tensors)).toEqual(templates(ref.tensors));
      expect(new Set([...ours.tensors.values()].map((e) => e.dtype))).toEqual(new Set([...ref.tensors.values()].map((e) => e.dtype)));
      expect(ours.metadata).toEqual(ref.metadata);
      // the same tensors are matrices / vectors, in the same [out, in] orientation relative to the config
      const ourCfg = readJson(path.join(MODEL, 'config.json'));
      const refCfg = readJson(path.join(fixtureDir(), 'config.json'));
      const symbolic = (shape: number[], c: Record<string, unknown>): string[] => {
        const dims: [string, number][] = [
          ['vocab', c.vocab_size as number],
          ['hidden', c.hidden_size as number],
          ['ff', c.intermediate_size as number],
          ['kv', (c.num_key_value_heads as number) * (c.head_dim as number)],
        ];
        return shape.map((d) => dims.find(([, v]) => v === d)?.[0] ?? String(d));
      };
      for (const [name, e] of ref.tensors) {
        const mine = ours.tensors.get(name.replace(/^model\.layers\.\d+\./, 'model.layers.0.'));
        expect(mine, name).toBeDefined();
        expect(symbolic(mine!.shape, ourCfg), name).toEqual(symbolic(e.shape, refCfg));
      }
    });

    it('ships the same tokenizer files as the fixture, of the same kind', () => {
      const ours = readJson(path.join(MODEL, 'tokenizer.json'));
      const ref = readJson(path.join(fixtureDir(), 'tokenizer.json'));
      expect((ours.model as { type: string }).type).toBe((ref.model as { type: string }).type);
      expect((ours.pre_tokenizer as { type: string }).type).toBe((ref.pre_tokenizer as { type: string }).type);
      const oursCfg = readJson(path.join(MODEL, 'tokenizer_config.json'));
      const refCfg = readJson(path.join(fixtureDir(), 'tokenizer_config.json'));
      expect(oursCfg.tokenizer_class).toBe(refCfg.tokenizer_class);
    });
  },
  [`${FIXTURE}/config.json`, `${FIXTURE}/model.safetensors`, `${FIXTURE}/tokenizer.json`, `${FIXTURE}/tokenizer_config.json`],
);
