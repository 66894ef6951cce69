/**
 * The split WISE step graph (src/memory/step-graph.ts) on the tiny llama fixture: edit rows go
 * through the layers above, irrelevant rows only through their activation score. Checked
 * against the router's scores from a plain routed forward of the same texts, against the
 * margin loss written out by hand (so bucket-padding rows provably count for nothing), and
 * by a directional finite difference of the loss along the returned gradient.
 */
import { beforeAll, expect, it } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { SideMemory } from '../../src/memory/side-memory.js';
import { routerVariant } from '../../src/router/router.js';
import { tensorData } from '../../src/graph/types.js';
import { Rng } from '../../src/util/rng.js';
import { normalizeTarget } from '../../src/memory/rows.js';

const M = { alpha: 0.5, beta: 3, gamma: 1 };
const HP = { lr: 0, nIter: 0, normConstraint: 1, weightDecay: 0, earlyStopTol: 0, earlyStopLoss: 0 };
const TEMPLATES = ['{}', 'Yes, and so {}'];
const IRR = ['Water is wet.', 'Two plus two is four, said the teacher.', 'Cats like fish.', 'Snow is cold.']; // 4 rows + the probe row → bucket of 8

const relu = (x: number): number => Math.max(0, x);
/** EasyEdit's margin loss (mean over positive entries), written out over the real rows only. */
function marginByHand(edit: number[], out: number[]): number {
  const mp = (xs: number[]): number => {
    const pos = xs.filter((x) => x > 0);
    return pos.reduce((a, b) => a + b, 0) / Math.max(1, pos.length);
  };
  return mp(out.flatMap((o) => edit.map((i) => o - i + M.gamma))) + mp(out.map((o) => o - M.alpha)) + mp(edit.map((i) => M.beta - i));
}


/** P(mask ⊙ g) from the graph against the projection done by hand, on the ff axis of either layout. */
async function checkProjection(lm: CausalLM, sm: SideMemory, side: Float32Array): Promise<void> {
  const b = sm.batch(TEMPLATES, { prompt: 'My dog is', target: 'big', irrelevant: IRR });
  const feeds = { ...(await sm.stepFeeds(b)), side_weight: tensorData('float32', sm.shape, side) };
  const plain = (await lm.engine.run(sm.stepGraph(b), feeds, ['grad_side'])).grad_side!.data as Float32Array;
  const r = 3;
  const ff = sm.ffDim;
  const u = await sm.projectionFrom(IRR, r);
  const rng = new Rng(9);
  const mask = Float32Array.from(plain, () => (rng.next() < 0.5 ? 1 : 0));
  sm.setProjection({ rank: r, u });
  try {
    const out = await lm.engine.run(sm.stepGraph(b), { ...feeds, proj_u: tensorData('float32', [r, ff], u), grad_mask: tensorData('float32', [...sm.shape], mask) }, ['grad_side']);
    const got = out.grad_side!.data as Float32Array;
    // the ff axis: rows of length ff (out_in, llama) or columns (in_out, gpt2)
    const other = plain.length / ff;
    const at = (o: number, i: number): number => (sm.lm.spec.layer.mlp.down.layout === 'out_in' ? o * ff + i : i * other + o);
    let maxErr = 0, scale = 0, maxDot = 0;
    for (let o = 0; o < other; o++) {
      const row = Array.from({ length: ff }, (_, i) => plain[at(o, i)]! * mask[at(o, i)]!);
      for (let k = 0; k < r; k++) {
        const dot = row.reduce((a, x, i) => a + x * u[k * ff + i]!, 0);
        row.forEach((_, i) => (row[i]! -= dot * u[k * ff + i]!));
      }
      row.forEach((x, i) => {
        maxErr = Math.max(maxErr, Math.abs(x - got[at(o, i)]!));
        scale = Math.max(scale, Math.abs(x));
      });
      for (let k = 0; k < r; k++) maxDot = Math.max(maxDot, Math.abs(Array.from({ length: ff }, (_, i) => got[at(o, i)]! * u[k * ff + i]!).reduce((a, x) => a + x, 0)));
    }
    expect(scale).toBeGreaterThan(0);
    expect(maxErr).toBeLessThan(1e-5 * scale + 1e-7);
    expect(maxDot).toBeLessThan(1e-5 * scale + 1e-7);
  } finally {
    sm.setProjection(null);
  }
}

describeShared('split WISE step graph on tiny-llama', () => {
  let lm: CausalLM;
  let sm: SideMemory;
  let side: Float32Array;
  beforeAll(async () => {
    lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
    sm = new SideMemory(lm, { layer: 1, margin: M, hparams: HP });
    const rng = new Rng(5);
    side = Float32Array.from(sm.base, (w) => w + 0.05 * (rng.next() - 0.5));
  });

  it('pads irrelevant rows (and the bare-prompt probe row) to a power of two, marked out of the loss', () => {
    const b = sm.batch(TEMPLATES, { prompt: 'The capital of France is', target: 'Rome', irrelevant: IRR });
    expect(b.E).toBe(2);
    expect(b.R).toBe(2 + 8);
    expect(b.isEdit).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(b.isOut).toEqual([0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(b.probeRow).toBe(6);
    // the irrelevant rows and the probe row, packed token after token; padding rows own no token
    expect(b.irrTexts).toEqual([...IRR, 'The capital of France is']);
    const lengths = b.irrTexts.map((x) => lm.tokenizer.encode(x).length);
    expect(b.irrIds.map((ids) => ids.length)).toEqual(lengths);
    const total = lengths.reduce((a, n) => a + n, 0);
    expect(b.Nb).toBeGreaterThanOrEqual(total);
    const owned = Array.from({ length: 8 }, (_, r) => b.irrMask.slice(r * b.Nb, (r + 1) * b.Nb));
    expect(owned.map((m) => m.reduce((a, x) => a + x, 0))).toEqual([...lengths, 0, 0, 0]);
    expect(owned[4]!.indexOf(1)).toBe(total - lengths[4]!); // the probe row's tokens come last
    expect(owned.reduce((acc, m) => acc.map((x, n) => x + m[n]!), new Array<number>(b.Nb).fill(0)).every((x) => x <= 1)).toBe(true);
    expect(b.ids).toHaveLength(2 * b.Tb); // only the edit rows are laid out in (E, Tb)
  });

  it('scores every row as the router does, and its margin loss counts only the real rows', async () => {
    const prompt = 'The capital of France is';
    const b = sm.batch(TEMPLATES, { prompt, target: 'Rome', irrelevant: IRR });
    const g = sm.stepGraph(b);
    const feeds = { ...(await sm.stepFeeds(b)), side_weight: tensorData('float32', sm.shape, side) };
    const out = await lm.engine.run(g, feeds, ['total_loss', 'loss', 'scores', 'grad_side']);
    const scores = Array.from(out.scores!.data as Float32Array);
    expect(scores).toHaveLength(10);
    expect(scores.slice(7)).toEqual([0, 0, 0]); // the padding rows

    // The router's score of each text under the same W′ (one routed forward, ε = 0).
    const delta = Float32Array.from(side, (w, i) => w - sm.base[i]!);
    const v = routerVariant([{ id: 'm', delta, eps: 0 }], { layer: 1, maxMeanTokens: 100, layout: lm.spec.layer.mlp.down.layout }, sm.shape);
    const tgt = lm.tokenizer.encode(normalizeTarget('Rome'));
    const seqs = [
      ...TEMPLATES.map((t) => [...lm.tokenizer.encode(t.replace('{}', prompt)), ...tgt]),
      ...IRR.map((x) => lm.tokenizer.encode(x)),
      lm.tokenizer.encode(prompt), // the probe row
    ];
    const f = await lm.forward(seqs, { variant: v });
    const routed = Array.from(f.extra.route_scores!.data as Float32Array);
    routed.forEach((s, i) => expect(scores[i]).toBeCloseTo(s, 3));

    const nll = (out.loss!.data as Float32Array)[0]!;
    const total = (out.total_loss!.data as Float32Array)[0]!;
    expect(total - nll).toBeCloseTo(marginByHand(scores.slice(0, 2), scores.slice(2, 6)), 3);
  });

  it('returns the gradient of its loss: a directional finite difference agrees', async () => {
    const b = sm.batch(TEMPLATES, { prompt: 'My dog is', target: 'big', irrelevant: IRR });
    const g = sm.stepGraph(b);
    const feeds = await sm.stepFeeds(b);
    const loss = async (w: Float32Array) => ((await lm.engine.run(g, { ...feeds, side_weight: tensorData('float32', sm.shape, w) }, ['total_loss'])).total_loss!.data as Float32Array)[0]!;
    const grad = (await lm.engine.run(g, { ...feeds, side_weight: tensorData('float32', sm.shape, side) }, ['grad_side'])).grad_side!.data as Float32Array;
    // Direction: the normalized gradient, so the change is large next to float32 rounding.
    let n2 = 0;
    for (const x of grad) n2 += x * x;
    const n = Math.sqrt(n2);
    expect(n).toBeGreaterThan(0);
    const h = 1e-3;
    const plus = Float32Array.from(side, (w, i) => w + (h * grad[i]!) / n);
    const minus = Float32Array.from(side, (w, i) => w - (h * grad[i]!) / n);
    const fd = ((await loss(plus)) - (await loss(minus))) / (2 * h);
    expect(Math.abs(fd - n) / n).toBeLessThan(0.02);
  });

  it('with a projection, returns P(mask ⊙ gradient): orthogonal to U along ff, equal to the projection done by hand', async () => {
    await checkProjection(lm, sm, side);
  });
}, ['fixtures/hf/tiny-llama']);

describeShared('projected WISE step on tiny-gpt2 (Conv1D layout)', () => {
  it('returns P(mask ⊙ gradient) along the ff axis (the rows of the stored (ff, d) weight)', async () => {
    const lm = await CausalLM.load(hfFixtureDir('tiny-gpt2'));
    const sm = new SideMemory(lm, { layer: 1, margin: M, hparams: HP });
    const rng = new Rng(6);
    await checkProjection(lm, sm, Float32Array.from(sm.base, (w) => w + 0.05 * (rng.next() - 0.5)));
  });
}, ['fixtures/hf/tiny-gpt2']);
