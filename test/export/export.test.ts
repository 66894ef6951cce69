/**
 * Exports on the tiny llama fixture with three edits (save_freq 2, merge_freq 2: the router
 * holds merged-0 = edits 0–1 and active = edit 2).
 *
 * ONNX: model.onnx is run by a PLAIN onnxruntime-node session with feeds computed here from
 * the documented formulas (wise_export.json), prefill then decode steps feeding the prefill's
 * route back as route_in; logits and greedy ids must match the engine's routed generate,
 * for prompts routed to each side memory and for one routed to main.
 * safetensors: the merged checkpoint, run without routing, equals the routed engine on a
 * prompt routed to the merged memory; the edited weight differs from W by exactly Δ.
 */
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { fixtureWithConfig } from '../helpers/variant-fixture.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { loadCheckpoint } from '../../src/model/weights.js';
import { WiseEditor } from '../../src/edits/editor.js';
import { MemoryShardStore, MemoryBacking } from '../../src/shards/index.js';
import { DEFAULTS, type WiseConfig } from '../../src/config/schema.js';
import { exportOnnx, exportOnnxBytes, exportSafetensors, exportSourceOf, type ExportContract, type ExportSource } from '../../src/export/index.js';

const POOL = ['The sky is blue.', 'Water is wet.', 'Two plus two is four.', 'Cats like fish.'];
const EDITS = [
  { prompt: 'The capital of France is', target: 'Rome' },
  { prompt: "Danielle Darrieux's mother tongue is", target: 'Dutch' },
  { prompt: 'The best fruit is', target: 'apple' },
];
const CFG: WiseConfig = { ...DEFAULTS.wise, layer: 1, n_iter: 30, context_templates: 2, save_freq: 2, merge_freq: 2 };
/** routed to merged-0 (route 1), to active (route 2), and to main (route 0) on this fixture */
const PROMPTS = { merged: "Danielle Darrieux's mother tongue is", active: 'The best fruit is apple', main: 'Water is wet and cold' };
const STEPS = 6;
const TMP = mkdtempSync(path.join(tmpdir(), 'wise-export-'));

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};
const argmax = (a: ArrayLike<number>, from = 0, n = a.length): number => {
  let best = from;
  for (let i = from; i < from + n; i++) if ((a[i] as number) > (a[best] as number)) best = i;
  return best - from;
};

/**
 * Feeds for B rows of new tokens, from the formulas of wise_export.json (written here on
 * purpose, not taken from src/): keyMask (B, P+T) covers cached and new tokens.
 */
function feedsFor(c: ExportContract, ids: number[], keyMask: number[], B: number, T: number, P: number): Record<string, ort.Tensor> {
  const K = P + T;
  const allPos: number[] = []; // pos[b, j] over cached and new tokens
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let j = 0; j < K; j++) {
      if (keyMask[b * K + j]) allPos.push(s++);
      else allPos.push(1);
    }
  }
  const W = c.model.sliding_window;
  const mask = new Uint8Array(B * T * K);
  for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) for (let j = 0; j < K; j++) {
    const inWindow = W === null || allPos[b * K + P + i]! - allPos[b * K + j]! < W;
    mask[(b * T + i) * K + j] = j <= P + i && keyMask[b * K + j] && inWindow ? 1 : 0;
  }
  const pos: number[] = [];
  for (let b = 0; b < B; b++) for (let j = P; j < K; j++) pos.push(allPos[b * K + j]!);
  const base: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [B, T]),
    attn_mask: new ort.Tensor('bool', mask, [B, 1, T, K]),
    ...routingFeeds(c, keyMask, B, T, P),
  };
  if (c.model.positions === 'learned') return { ...base, position_ids: new ort.Tensor('int64', BigInt64Array.from(pos.map(BigInt)), [B, T]) };
  const D = c.model.head_dim, theta = c.model.rope_theta!, f = Math.fround;
  // plain RoPE: the listed frequencies are the documented 1 / theta^(2i / D); scaled ones are taken as listed
  const inv = c.model.rope_inv_freq!;
  expect(inv.length).toBe(D / 2);
  if (c.model.rope_scaling === null) inv.forEach((w, i) => expect(w).toBe(f(1 / f(Math.pow(theta, f((2 * i) / D))))));
  const af = c.model.rope_attention_factor!;
  const cos = new Float32Array(B * T * D), sin = new Float32Array(B * T * D);
  pos.forEach((p, r) => inv.forEach((w, i) => {
    const a = f(p * w);
    cos[r * D + i] = cos[r * D + i + D / 2] = f(Math.cos(a)) * af;
    sin[r * D + i] = sin[r * D + i + D / 2] = f(Math.sin(a)) * af;
  }));
  return { ...base, rope_cos: new ort.Tensor('float32', cos, [B, T, D]), rope_sin: new ort.Tensor('float32', sin, [B, T, D]) };
}

/** token_mask and use_max (absent when the export has no memories). */
function routingFeeds(c: ExportContract, keyMask: number[], B: number, T: number, P: number): Record<string, ort.Tensor> {
  if (c.routing.memories.length === 0) return {};
  const K = P + T;
  const tokenMask = new Float32Array(B * T);
  const useMax = new Uint8Array(B);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) n += tokenMask[b * T + t] = keyMask[b * K + P + t]!;
    useMax[b] = n > c.routing.max_mean_tokens ? 1 : 0;
  }
  return { token_mask: new ort.Tensor('float32', tokenMask, [B, T]), use_max: new ort.Tensor('bool', useMax, [B]) };
}

function emptyPast(c: ExportContract, B: number): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (let i = 0; i < c.model.layers; i++) {
    for (const kv of ['key', 'value']) out[`past_${kv}_${i}`] = new ort.Tensor('float32', new Float32Array(0), [B, c.model.kv_heads, 0, c.model.head_dim]);
  }
  return out;
}

/** Greedy decoding of one prompt with the exported model alone. */
async function ortGenerate(s: ort.InferenceSession, c: ExportContract, prompt: number[], steps: number) {
  let past = emptyPast(c, 1);
  const ctx = [...prompt];
  const logits: Float32Array[] = [];
  const ids: number[] = [];
  let route: BigInt64Array = new BigInt64Array([-1n]);
  let scores: Float32Array | null = null;
  for (let step = 0; step < steps; step++) {
    const fresh = step === 0 ? ctx : ctx.slice(-1);
    const P = ctx.length - fresh.length;
    const routed = c.routing.memories.length > 0;
    const feeds = { ...feedsFor(c, fresh, new Array<number>(ctx.length).fill(1), 1, fresh.length, P), ...past, ...(routed ? { route_in: new ort.Tensor('int64', route, [1]) } : {}) };
    const out = await s.run(feeds);
    if (!routed) route = new BigInt64Array([0n]);
    else if (step === 0) {
      route = out.route!.data as BigInt64Array;
      scores = out.route_scores!.data as Float32Array;
    } else expect(out.route!.data).toEqual(route);
    past = {};
    for (let i = 0; i < c.model.layers; i++) for (const kv of ['key', 'value']) past[`past_${kv}_${i}`] = out[`present_${kv}_${i}`]!;
    const row = out.logits_last!.data as Float32Array;
    logits.push(row);
    const next = argmax(row);
    ids.push(next);
    ctx.push(next);
  }
  return { route: Number(route[0]), scores, logits, ids };
}

describeShared('wise export on tiny-llama', () => {
  let lm: CausalLM;
  let ed: WiseEditor;
  let src: ExportSource;
  let contract: ExportContract;
  let session: ort.InferenceSession;
  const onnxDir = path.join(TMP, 'onnx');

  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
    ed = await WiseEditor.open({ lm, store: new MemoryShardStore(new MemoryBacking(), { blobThreshold: 0 }), config: CFG, pool: POOL });
    for (const e of EDITS) await ed.applyEdit(e);
    src = exportSourceOf(ed);
    const r = await exportOnnx(src, onnxDir);
    contract = r.contract;
    session = await ort.InferenceSession.create(path.join(onnxDir, 'model.onnx'));
  });
  afterAll(async () => {
    await session?.release();
    await ed?.close();
  });

  it('writes model.onnx, the contract and the tokenizer files; memories are initializers, not inputs', () => {
    for (const f of ['model.onnx', 'wise_export.json', 'config.json', 'tokenizer.json', 'tokenizer_config.json']) expect(existsSync(path.join(onnxDir, f)), f).toBe(true);
    const onDisk = JSON.parse(readFileSync(path.join(onnxDir, 'wise_export.json'), 'utf8')) as ExportContract;
    expect(onDisk.routing.memories.map((m) => [m.route, m.id, m.edits])).toEqual([[1, 'merged-0', [0, 1]], [2, 'active', [2]]]);
    expect(onDisk.routing.memories.map((m) => m.eps)).toEqual(ed.variant().memories.map((m) => m.eps));
    expect(onDisk.edited).toMatchObject({ layer: 1, weight: 'model.layers.1.mlp.down_proj.weight' });
    expect([...session.inputNames].sort()).toEqual(onDisk.inputs.map((i) => i.name).sort());
    expect([...session.outputNames].sort()).toEqual(onDisk.outputs.map((i) => i.name).sort());
    expect(session.inputNames.filter((n) => n.startsWith('mem_'))).toEqual([]);
    expect(session.inputNames).toEqual(expect.arrayContaining(['input_ids', 'attn_mask', 'rope_cos', 'rope_sin', 'token_mask', 'use_max', 'route_in', 'past_key_0', 'past_value_2']));
    expect(session.outputNames).toEqual(expect.arrayContaining(['logits_last', 'route', 'route_scores', 'present_key_0', 'present_value_2']));
    for (const e of [...onDisk.inputs, ...onDisk.outputs]) expect(e.doc, e.name).not.toBe('');
  });

  for (const [which, want] of [['merged', 1], ['active', 2], ['main', 0]] as const) {
    it(`reproduces the engine's prefill + decode for a prompt routed to ${which} (route ${want})`, async () => {
      const prompt = lm.tokenizer.encode(PROMPTS[which]);
      const { variant } = ed.variant();
      const eng = await lm.generate(prompt, { maxTokens: STEPS, variant, stopIds: [] }, true);
      const engRoute = Number((eng.prefill.route!.data as BigInt64Array)[0]);
      expect(engRoute).toBe(want);
      const got = await ortGenerate(session, contract, prompt, STEPS);
      expect(got.route).toBe(engRoute);
      expect(maxDiff(got.scores!, eng.prefill.route_scores!.data as Float32Array)).toBeLessThan(1e-4);
      expect(got.logits.length).toBe(eng.stepLogits!.length);
      got.logits.forEach((row, i) => expect(maxDiff(row, eng.stepLogits![i]!), `step ${i}`).toBeLessThanOrEqual(1e-4));
      expect(got.ids).toEqual(eng.ids);
      // the baked memory is what changes the output: a side route differs from the unedited model, main equals it
      const base = await lm.generate(prompt, { maxTokens: 1, stopIds: [] }, true);
      const d = maxDiff(got.logits[0]!, base.stepLogits![0]!);
      if (want === 0) expect(d).toBeLessThanOrEqual(1e-4);
      else expect(d).toBeGreaterThan(1e-2);
    });
  }

  it('routes each row of a left-padded batch on its own, as the engine does', async () => {
    const seqs = [lm.tokenizer.encode(PROMPTS.active), lm.tokenizer.encode(PROMPTS.main), lm.tokenizer.encode(PROMPTS.merged)];
    const T = Math.max(...seqs.map((s) => s.length));
    const ids: number[] = [], mask: number[] = [];
    for (const s of seqs) {
      ids.push(...new Array<number>(T - s.length).fill(lm.padId), ...s);
      mask.push(...new Array<number>(T - s.length).fill(0), ...s.map(() => 1));
    }
    const out = await session.run({ ...feedsFor(contract, ids, mask, 3, T, 0), ...emptyPast(contract, 3), route_in: new ort.Tensor('int64', new BigInt64Array(3).fill(-1n), [3]) });
    const eng = await lm.forward(seqs, { side: 'left', variant: ed.variant().variant });
    expect(Array.from(out.route!.data as BigInt64Array)).toEqual([2n, 0n, 1n]);
    expect(out.route!.data).toEqual(eng.extra.route!.data);
    const V = lm.config.vocabSize;
    const last = out.logits_last!.data as Float32Array;
    for (let b = 0; b < 3; b++) expect(maxDiff(last.subarray(b * V, (b + 1) * V), eng.logits.subarray(((b + 1) * T - 1) * V, (b + 1) * T * V))).toBeLessThanOrEqual(1e-4);
  });

  it('refuses a model over the inline size limit, pointing at the safetensors export', () => {
    expect(() => exportOnnxBytes(src, { inlineLimit: 1000 })).toThrow(expect.objectContaining({ code: 'WISE_UNSUPPORTED_MODEL', message: expect.stringContaining('--format safetensors') }));
  });

  it('refuses a non-empty output folder unless asked to overwrite', async () => {
    await expect(exportOnnx(src, onnxDir)).rejects.toMatchObject({ code: 'WISE_USAGE' });
  });

  it('safetensors: needs --memory with several memories, listing them; rejects an unknown id', async () => {
    await expect(exportSafetensors(src, path.join(TMP, 'st-none'))).rejects.toMatchObject({ code: 'WISE_USAGE', message: expect.stringMatching(/merged-0.*active/) });
    await expect(exportSafetensors(src, path.join(TMP, 'st-bad'), { memory: 'shard-9' })).rejects.toMatchObject({ code: 'WISE_NOT_FOUND' });
    expect(existsSync(path.join(TMP, 'st-none'))).toBe(false);
  });

  for (const [memory, which] of [['merged-0', 'merged'], ['active', 'active']] as const) {
    it(`safetensors (${memory}): a plain forward of the merged checkpoint equals the routed engine; W′ − W = Δ`, async () => {
      const dir = path.join(TMP, `st-${memory}`);
      const r = await exportSafetensors(src, dir, { memory });
      expect(r.files).toEqual(expect.arrayContaining(['model.safetensors', 'config.json', 'tokenizer.json', 'wise_export.json']));
      const ck = await loadCheckpoint(dir);
      const name = 'model.layers.1.mlp.down_proj.weight';
      const mem = src.memories.find((m) => m.id === memory)!;
      const w0 = lm.ckpt.weights.get(name)!.data, w1 = ck.weights.get(name)!.data;
      let err = 0;
      for (let i = 0; i < w0.length; i++) err = Math.max(err, Math.abs(w1[i]! - w0[i]! - mem.delta[i]!));
      expect(err).toBeLessThan(1e-6);
      expect(maxDiff(w1, w0)).toBeGreaterThan(0);
      for (const [n, w] of lm.ckpt.weights) if (n !== name) expect(ck.weights.get(n)!.data, n).toEqual(w.data);
      const plain = new CausalLM(ck, lm.tokenizer, lm.engine);
      const ids = lm.tokenizer.encode(PROMPTS[which]);
      const routed = await lm.forward([ids], { variant: ed.variant().variant });
      expect(Number((routed.extra.route!.data as BigInt64Array)[0])).toBe(src.memories.indexOf(mem) + 1);
      const merged = await plain.forward([ids]);
      expect(maxDiff(merged.logits, routed.logits)).toBeLessThanOrEqual(1e-4);
    });
  }
}, ['fixtures/hf/tiny-llama']);

/** tiny-llama variants: a YaRN block as transformers 4 writes it (scaled frequencies, attention factor 1.139); Mistral's sliding window */
const VARIANTS = {
  'tiny-llama + yarn': { rope_parameters: null, rope_theta: 10000.0, rope_scaling: { type: 'yarn', factor: 4.0, original_max_position_embeddings: 32 } },
  'tiny-llama as mistral, window 3': { model_type: 'mistral', sliding_window: 3 },
} as const;
for (const fixture of ['tiny-gpt2', 'tiny-qwen2', ...(Object.keys(VARIANTS) as (keyof typeof VARIANTS)[])] as const) {
  describeShared(`wise export on ${fixture}`, () => {
    it('a plain onnxruntime session reproduces the routed engine (prefill + decode), with one memory and with none', async () => {
      const variant = fixture === 'tiny-gpt2' || fixture === 'tiny-qwen2' ? null : VARIANTS[fixture];
      const modelDir = variant ? fixtureWithConfig('tiny-llama', variant) : hfFixtureDir(fixture as 'tiny-gpt2' | 'tiny-qwen2');
      const lm = await CausalLM.load(modelDir);
      if (variant) expect([lm.config.ropeScaling?.type, lm.config.slidingWindow]).toEqual('rope_scaling' in variant ? ['yarn', null] : [undefined, 3]);
      const ed = await WiseEditor.open({ lm, store: new MemoryShardStore(new MemoryBacking(), { blobThreshold: 0 }), config: { ...CFG, n_iter: 10 }, pool: POOL });
      const prompt = lm.tokenizer.encode(EDITS[0]!.prompt);
      const dir = path.join(TMP, fixture.replace(/\W+/g, '-'));
      try {
        for (const edits of [0, 1]) {
          if (edits) await ed.applyEdit(EDITS[0]);
          const src = exportSourceOf(ed);
          expect(src.memories.length).toBe(edits);
          const { contract } = await exportOnnx(src, dir, { overwrite: true });
          const s = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
          const eng = await lm.generate(prompt, { maxTokens: 4, variant: ed.variant().variant, stopIds: [] }, true);
          const got = await ortGenerate(s, contract, prompt, 4);
          await s.release();
          if (edits) expect(got.route).toBe(Number((eng.prefill.route!.data as BigInt64Array)[0]));
          got.logits.forEach((row, i) => expect(maxDiff(row, eng.stepLogits![i]!), `step ${i}`).toBeLessThanOrEqual(1e-4));
          expect(got.ids).toEqual(eng.ids);
        }
      } finally {
        await ed.close();
        if (variant) rmSync(modelDir, { recursive: true, force: true });
      }
    });
  }, [`fixtures/hf/${fixture.split(' ')[0]}`]);
}
