/**
 * The in-graph router over several memories (src/router/router.ts, stack.ts), against the
 * routing rule written out in JS from each text's activation A(x): per-memory scores, the
 * ε gate, top-1 by score or by score / ε (ties to the lower index), main when none passes,
 * and the output of the chosen memory — on both weight layouts (llama out_in, GPT-2 in_out),
 * with dense memories and with memories that use a subset of the input channels (channel masks,
 * memory/masks.ts: the router then scores on those channels only, router/support.ts).
 */
import { beforeAll, expect, it } from 'vitest';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { CausalLM, type Variant } from '../../src/model/causal-lm.js';
import { SideMemory } from '../../src/memory/side-memory.js';
import { routerVariant, type RouteSelect, type RoutedMemory, type ScoreDtype } from '../../src/router/router.js';
import type { RouteStat } from '../../src/router/score.js';
import { stackDeltas } from '../../src/router/stack.js';
import { shardMask } from '../../src/memory/masks.js';
import { Rng } from '../../src/util/rng.js';

const HP = { lr: 0, nIter: 0, normConstraint: 1, weightDecay: 0, earlyStopTol: 0, earlyStopLoss: 0 };
const TEXTS = ['The capital of France is Paris', 'Water is wet', 'My dog likes long walks in the park', 'Two plus two', 'Snow'];

/**
 * mean over tokens of ‖A_t Δᵀ‖ (Δ in the stored layout); with `stat`, each token's norm over
 * ‖A_t‖ (normalize) and the mean of the topk highest (router/score.ts RouteStat)
 */
function jsScore(a: Float32Array, T: number, delta: Float32Array, shape: number[], layout: 'out_in' | 'in_out', stat: RouteStat = { topk: 0, normalize: false }): number {
  const [ff, d] = layout === 'out_in' ? [shape[1]!, shape[0]!] : [shape[0]!, shape[1]!];
  let total = 0;
  const tok: number[] = [];
  for (let t = 0; t < T; t++) {
    let sq = 0;
    for (let i = 0; i < d; i++) {
      let y = 0;
      for (let j = 0; j < ff; j++) y += a[t * ff + j]! * (layout === 'out_in' ? delta[i * ff + j]! : delta[j * d + i]!);
      sq += y * y;
    }
    let an = 0;
    for (let j = 0; j < ff; j++) an += a[t * ff + j]! ** 2;
    tok.push(stat.normalize ? Math.sqrt(sq) / Math.sqrt(an) : Math.sqrt(sq));
    total += tok[t]!;
  }
  if (stat.topk === 0) return total / T;
  const top = tok.sort((x, y) => y - x).slice(0, stat.topk);
  return top.reduce((x, y) => x + y, 0) / top.length;
}

for (const fixture of ['tiny-llama', 'tiny-gpt2'] as const) for (const kind of ['dense', 'channels'] as const) {
  describeShared(`router over several memories on ${fixture} (${kind})`, () => {
    let lm: CausalLM;
    let sm: SideMemory;
    let memories: RoutedMemory[];
    let scores: number[][]; // [text][memory]
    const layer = 1;
    beforeAll(async () => {
      lm = await CausalLM.load(hfFixtureDir(fixture));
      sm = new SideMemory(lm, { layer, margin: { alpha: 1, beta: 1, gamma: 1 }, hparams: HP });
      const rng = new Rng(11);
      // five memories of different sizes
      const layout = lm.spec.layer.mlp.down.layout;
      const deltas = [0.02, 0.05, 0.01, 0.03, 0.04].map((s) => Float32Array.from(sm.base, () => s * (rng.next() - 0.5)));
      // channels: each memory keeps the weights of about 12% of the ff channels (about half of ff in all five)
      if (kind === 'channels') deltas.forEach((x, k) => shardMask(100 + k, sm.shape, layout, 0.12, 'channel').forEach((m, i) => (x[i]! *= m)));
      memories = deltas.map((delta, k) => ({ id: `m${k}`, delta, eps: 0 }));
      scores = [];
      for (const x of TEXTS) {
        const a = await sm.textActivation(x);
        scores.push(memories.map((m) => jsScore(a.data, a.T, m.delta, sm.shape, layout)));
      }
    });

    const route = async (mems: RoutedMemory[], select: RouteSelect, scoreDtype: ScoreDtype = 'float32') => {
      const v = routerVariant(mems, { layer, maxMeanTokens: 100, select, layout: lm.spec.layer.mlp.down.layout, scoreDtype }, sm.shape);
      const ids = TEXTS.map((x) => lm.tokenizer.encode(x));
      const f = await lm.forward(ids, { variant: v });
      const M = f.extra.route_scores!.dims[1]!;
      const got = Array.from(f.extra.route!.data as BigInt64Array, Number);
      const s = TEXTS.map((_, b) => Array.from((f.extra.route_scores!.data as Float32Array).subarray(b * M, b * M + mems.length)));
      return { got, s, f, ids };
    };

    /** per memory, an ε halfway between the i-th and (i+1)-th lowest text score (no score sits on it) */
    const epsAt = (i: number): number[] => memories.map((_, k) => {
      const col = scores.map((r) => r[k]!).sort((a, b) => a - b);
      return (col[i]! + col[i + 1]!) / 2;
    });

    /** the rule in JS: the highest key among memories with s ≥ ε, first on ties; 0 = main */
    const expected = (eps: number[], select: RouteSelect): number[] =>
      scores.map((row) => {
        let best = -1, r = 0;
        row.forEach((s, k) => {
          const key = select === 'ratio' ? s / eps[k]! : s;
          if (s >= eps[k]! && key > best) {
            best = key;
            r = k + 1;
          }
        });
        return r;
      });

    /** Two routers over the same memories agree on TEXTS: routes (more than one taken), scores, logits. */
    const expectSameForward = async (v: Variant, w: Variant): Promise<void> => {
      const ids = TEXTS.map((x) => lm.tokenizer.encode(x));
      const [a, b] = [await lm.forward(ids, { variant: v }), await lm.forward(ids, { variant: w })];
      expect(Array.from(a.extra.route!.data as BigInt64Array)).toEqual(Array.from(b.extra.route!.data as BigInt64Array));
      expect(new Set(Array.from(a.extra.route!.data as BigInt64Array)).size).toBeGreaterThan(1);
      (a.extra.route_scores!.data as Float32Array).forEach((x, i) => expect(x).toBeCloseTo((b.extra.route_scores!.data as Float32Array)[i]!, 5));
      let err = 0;
      a.logits.forEach((x, i) => (err = Math.max(err, Math.abs(x - b.logits[i]!))));
      expect(err).toBeLessThan(1e-5);
    };

    it(kind === 'channels' ? 'scores on the channels the memories use: the same scores, routes and logits as the full product' : 'scores with the full product (every channel is used)', async () => {
      const layout = lm.spec.layer.mlp.down.layout;
      const eps = epsAt(2);
      const mems = memories.map((m, k) => ({ ...m, eps: eps[k]! }));
      const v = routerVariant(mems, { layer, maxMeanTokens: 100, layout }, sm.shape);
      expect(v.key.includes('-ch')).toBe(kind === 'channels');
      if (kind === 'dense') return;
      const full = routerVariant(mems, { layer, maxMeanTokens: 100, layout, subset: false }, sm.shape);
      expect(full.key.includes('-ch')).toBe(false);
      await expectSameForward(v, full);
    });

    it('the stack as the left operand (the default while M·d ≤ LEFT_MAX_ROWS) scores, routes, outputs and decodes as the right one', async () => {
      const layout = lm.spec.layer.mlp.down.layout;
      const eps = epsAt(1);
      const mems = memories.map((m, k) => ({ ...m, eps: eps[k]! }));
      const v = routerVariant(mems, { layer, maxMeanTokens: 100, layout }, sm.shape);
      const right = routerVariant(mems, { layer, maxMeanTokens: 100, layout, left: false }, sm.shape);
      expect(v.key.endsWith('-lhs')).toBe(true);
      expect(right.key.includes('-lhs')).toBe(false);
      await expectSameForward(v, right);
      for (const text of TEXTS.slice(0, 3)) {
        const prompt = lm.tokenizer.encode(text);
        const [ga, gb] = [await lm.generate(prompt, { maxTokens: 3, stopIds: [], variant: v }, true), await lm.generate(prompt, { maxTokens: 3, stopIds: [], variant: right }, true)];
        expect(ga.ids).toEqual(gb.ids);
        ga.stepLogits!.forEach((row, i) => row.forEach((x, j) => expect(Math.abs(x - gb.stepLogits![i]![j]!)).toBeLessThan(1e-5)));
      }
    });

    it('scores every memory as ‖A(x)Δᵀ‖ averaged over tokens, and picks the top-1 that passes its ε', async () => {
      // ε between the text scores: some texts pass some memories, some none
      const eps = epsAt(2);
      for (const select of ['score', 'ratio'] as const) {
        const { got, s } = await route(memories.map((m, k) => ({ ...m, eps: eps[k]! })), select);
        s.forEach((row, b) => row.forEach((x, k) => expect(x).toBeCloseTo(scores[b]![k]!, 4)));
        expect(got).toEqual(expected(eps, select));
      }
    });

    it('routing statistics: mean of the top-k token scores, each over ‖A_t‖ when normalized (texts of 1 to 9 tokens)', async () => {
      const layout = lm.spec.layer.mlp.down.layout;
      for (const stat of [{ topk: 3, normalize: true }, { topk: 2, normalize: false }, { topk: 0, normalize: true }] as RouteStat[]) {
        const want: number[][] = [];
        for (const x of TEXTS) {
          const a = await sm.textActivation(x);
          want.push(memories.map((m) => jsScore(a.data, a.T, m.delta, sm.shape, layout, stat)));
        }
        const v = routerVariant(memories.map((m) => ({ ...m, eps: 0 })), { layer, maxMeanTokens: 100, select: 'score', layout, stat }, sm.shape);
        const f = await lm.forward(TEXTS.map((x) => lm.tokenizer.encode(x)), { variant: v });
        const M = f.extra.route_scores!.dims[1]!;
        want.forEach((row, b) => row.forEach((x, k) => expect((f.extra.route_scores!.data as Float32Array)[b * M + k]!).toBeCloseTo(x, stat.normalize ? 6 : 4)));
        // and not the plain statistic
        expect(want.some((row, b) => row.some((x, k) => Math.abs(x - scores[b]![k]!) > 1e-3 * Math.abs(x)))).toBe(true);
      }
    });

    it('sends a sequence to main when no memory passes', async () => {
      const none = await route(memories.map((m) => ({ ...m, eps: 1e9 })), 'score');
      expect(none.got).toEqual(TEXTS.map(() => 0));
      expect(none.s.flat().every((x) => x > 0)).toBe(true); // scored all the same
    });

    it("outputs the chosen memory's layer: logits equal a forward routed to that memory alone", async () => {
      const eps = epsAt(1);
      const all = await route(memories.map((m, k) => ({ ...m, eps: eps[k]! })), 'score');
      expect(new Set(all.got).size).toBeGreaterThan(1);
      const V = lm.config.vocabSize;
      for (const [b, r] of all.got.entries()) {
        const only = r === 0 ? [] : [{ ...memories[r - 1]!, eps: 0 }];
        const v = routerVariant(only, { layer, maxMeanTokens: 100, layout: lm.spec.layer.mlp.down.layout }, sm.shape);
        const f = await lm.forward([all.ids[b]!], { variant: v });
        const T = all.ids[b]!.length, Tall = all.f.batch.seq, off = all.f.batch.offsets[b]!; // left padding
        const want = f.logits.subarray((f.batch.seq - T) * V);
        const got = all.f.logits.subarray((b * Tall + off) * V, (b * Tall + off + T) * V);
        let err = 0;
        want.forEach((x, i) => (err = Math.max(err, Math.abs(x - got[i]!))));
        expect(err).toBeLessThan(1e-4);
      }
    });

    it('decodes on the route decided at the prefill: each step equals a full forward routed to that memory alone', async () => {
      const eps = epsAt(1);
      const v = routerVariant(memories.map((m, k) => ({ ...m, eps: eps[k]! })), { layer, maxMeanTokens: 100, layout: lm.spec.layer.mlp.down.layout }, sm.shape);
      const V = lm.config.vocabSize;
      const routes = new Set<number>();
      for (const text of TEXTS) {
        const prompt = lm.tokenizer.encode(text);
        const r = await lm.generate(prompt, { maxTokens: 4, stopIds: [], variant: v }, true);
        const k = Number((r.prefill.route!.data as BigInt64Array)[0]);
        routes.add(k);
        const only = k === 0 ? undefined : routerVariant([{ ...memories[k - 1]!, eps: 0 }], { layer, maxMeanTokens: 100, layout: lm.spec.layer.mlp.down.layout }, sm.shape);
        for (let i = 1; i < r.stepLogits!.length; i++) { // steps after the prefill
          const ctx = [...prompt, ...r.ids.slice(0, i)];
          const f = await lm.forward([ctx], only ? { variant: only } : {});
          const want = f.logits.subarray((ctx.length - 1) * V, ctx.length * V);
          let err = 0;
          r.stepLogits![i]!.forEach((x, j) => (err = Math.max(err, Math.abs(x - want[j]!))));
          expect(err).toBeLessThan(1e-4);
        }
      }
      expect(routes.size).toBeGreaterThan(1); // main and memories both exercised
    });

    it('batched decoding routes each row on its own prompt and decodes it as alone, as rows of different budgets leave the batch', async () => {
      const eps = epsAt(1);
      const v = routerVariant(memories.map((m, k) => ({ ...m, eps: eps[k]! })), { layer, maxMeanTokens: 100, layout: lm.spec.layer.mlp.down.layout }, sm.shape);
      const prompts = TEXTS.map((t) => lm.tokenizer.encode(t));
      const budgets = prompts.map((_, i) => 2 + ((3 * i) % 5)); // 2, 5, 3, 6, 4
      const alone: Awaited<ReturnType<CausalLM['generate']>>[] = [];
      for (const [i, p] of prompts.entries()) alone.push(await lm.generate(p, { maxTokens: budgets[i]!, stopIds: [], variant: v }, true));
      const rs = await lm.generateMany(prompts, budgets.map((n) => ({ maxTokens: n, stopIds: [], variant: v })), true);
      const routes = rs.map((r) => Number((r.prefill.route!.data as BigInt64Array)[0]));
      expect(new Set(routes).size).toBeGreaterThan(1);
      rs.forEach((r, i) => {
        expect(r.prefill.route!.dims).toEqual([1]);
        expect(routes[i]).toBe(Number((alone[i]!.prefill.route!.data as BigInt64Array)[0]));
        expect(r.ids).toEqual(alone[i]!.ids);
        expect(r.ids).toHaveLength(budgets[i]!);
        r.stepLogits!.forEach((row, s) => {
          let err = 0;
          row.forEach((x, j) => (err = Math.max(err, Math.abs(x - alone[i]!.stepLogits![s]![j]!))));
          expect(err, `row ${i} step ${s}`).toBeLessThan(1e-4);
        });
      });
    });

    it("a prompt routed to main decodes on the plain model's step graph: the plain model's tokens and step logits", async () => {
      const v = routerVariant(memories.map((m) => ({ ...m, eps: 1e9 })), { layer, maxMeanTokens: 100, layout: lm.spec.layer.mlp.down.layout }, sm.shape);
      const names: string[] = [];
      const run = lm.engine.run.bind(lm.engine);
      lm.engine.run = (g, feeds, fetches) => (names.push(`${g.name}:${'route_in' in feeds ? 'routed' : 'plain'}`), run(g, feeds, fetches));
      try {
        for (const text of TEXTS.slice(0, 2)) {
          const prompt = lm.tokenizer.encode(text);
          names.length = 0;
          const r = await lm.generate(prompt, { maxTokens: 4, stopIds: [], variant: v }, true);
          expect(Number((r.prefill.route!.data as BigInt64Array)[0])).toBe(0);
          expect(names).toEqual(['decode:routed', 'decode:plain', 'decode:plain', 'decode:plain']);
          const plain = await lm.generate(prompt, { maxTokens: 4, stopIds: [] }, true);
          expect(r.ids).toEqual(plain.ids);
          for (let i = 0; i < 4; i++) {
            let err = 0;
            r.stepLogits![i]!.forEach((x, j) => (err = Math.max(err, Math.abs(x - plain.stepLogits![i]![j]!))));
            expect(err).toBeLessThan(1e-5);
          }
        }
      } finally {
        lm.engine.run = run;
      }
    });

    // int8 scores and the stack's cache do not depend on the memories' channels (int8 always scores every channel)
    if (kind === 'dense') {
      it('int8 scores (wise.route_score_dtype): within 1% of the exact scores, the exact routes where no score is within 2% of its ε, and the float output of the chosen memory', async () => {
        const eps = epsAt(2);
        // texts whose every score is at least 2% away from its memory's ε: there the int8 route must be the exact one
        const clear = scores.map((row) => row.every((x, k) => Math.abs(x / eps[k]! - 1) > 0.02));
        expect(clear.filter(Boolean).length).toBeGreaterThanOrEqual(2);
        for (const select of ['score', 'ratio'] as const) {
          const mems = memories.map((m, k) => ({ ...m, eps: eps[k]! }));
          const q = await route(mems, select, 'int8');
          let maxRel = 0;
          q.s.forEach((row, b) => row.forEach((x, k) => (maxRel = Math.max(maxRel, Math.abs(x / scores[b]![k]! - 1)))));
          expect(maxRel).toBeLessThan(0.01);
          expect(maxRel).toBeGreaterThan(0); // approximate: the int8 path, not the float one
          const want = expected(eps, select);
          q.got.forEach((r, b) => clear[b] && expect(r).toBe(want[b]));
          // and everywhere the rule applied to the int8 scores the router reports
          const own = q.s.map((row) => {
            let best = -1, r = 0;
            row.forEach((x, k) => {
              const key = select === 'ratio' ? x / eps[k]! : x;
              if (x >= eps[k]! && key > best) (best = key), (r = k + 1);
            });
            return r;
          });
          expect(q.got).toEqual(own);
          // where the float32 router routes a sequence the same way, the logits agree: the applied δ is exact in both
          const f = await route(mems, select);
          expect(new Set(q.got).size).toBeGreaterThan(1);
          const same = q.got.map((r, b) => r === f.got[b]);
          expect(same.filter(Boolean).length).toBeGreaterThanOrEqual(2);
          const V = lm.config.vocabSize, Tall = f.f.batch.seq;
          same.forEach((ok, b) => {
            if (!ok) return;
            let err = 0;
            for (let i = b * Tall * V; i < (b + 1) * Tall * V; i++) err = Math.max(err, Math.abs(f.f.logits[i]! - q.f.logits[i]!));
            expect(err).toBeLessThan(1e-4);
          });
        }
      });

      it('int8 scores: decoding keeps the prefill route and applies the float delta (equal to the float32 router)', async () => {
        const eps = epsAt(1);
        const mems = memories.map((m, k) => ({ ...m, eps: eps[k]! }));
        const layout = lm.spec.layer.mlp.down.layout;
        const vq = routerVariant(mems, { layer, maxMeanTokens: 100, layout, scoreDtype: 'int8' }, sm.shape);
        const vf = routerVariant(mems, { layer, maxMeanTokens: 100, layout }, sm.shape);
        const routes = new Set<number>();
        for (const text of TEXTS) {
          const prompt = lm.tokenizer.encode(text);
          const rq = await lm.generate(prompt, { maxTokens: 4, stopIds: [], variant: vq }, true);
          const rf = await lm.generate(prompt, { maxTokens: 4, stopIds: [], variant: vf }, true);
          routes.add(Number((rq.prefill.route!.data as BigInt64Array)[0]));
          expect(Array.from(rq.prefill.route!.data as BigInt64Array)).toEqual(Array.from(rf.prefill.route!.data as BigInt64Array));
          expect(rq.ids).toEqual(rf.ids);
          rq.stepLogits!.forEach((row, i) => {
            let err = 0;
            row.forEach((x, j) => (err = Math.max(err, Math.abs(x - rf.stepLogits![i]![j]!))));
            expect(err).toBeLessThan(1e-4);
          });
        }
        expect(routes.size).toBeGreaterThan(1);
      });

      it('stacks deltas once and extends the kept stack in place when memories are only appended', () => {
        const layout = lm.spec.layer.mlp.down.layout;
        const a = stackDeltas(memories.slice(0, 2).map((m) => m.delta), 8, sm.shape, layout);
        const copy = a.slice();
        const b = stackDeltas(memories.slice(0, 3).map((m) => m.delta), 8, sm.shape, layout);
        expect(b).toBe(a); // the same buffer: slot 2 was padding
        const fresh = stackDeltas([memories[0]!.delta, memories[3]!.delta], 8, sm.shape, layout);
        expect(fresh).not.toBe(a); // slot 1 changed: a new buffer, the old one untouched in its real slots
        const [ff, d] = layout === 'out_in' ? [sm.shape[1]!, sm.shape[0]!] : [sm.shape[0]!, sm.shape[1]!];
        for (let j = 0; j < ff; j++) for (let i = 0; i < 2 * d; i++) expect(a[j * 8 * d + i]).toBe(copy[j * 8 * d + i]);
      });
    }
  });
}
