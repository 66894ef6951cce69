/**
 * Training from scratch, in miniature: the mini recipe (src/train/recipe.ts miniRecipe) on a toy
 * set of 20 made-up facts in two phrasings. The loss must fall below half its starting value and
 * the model must memorize every fact (each object token top-1 under teacher forcing). Also:
 * an interrupted run resumed from its checkpoint continues exactly where it stopped.
 *
 * Text is tokenized with the bundled BPE, then the ids in use are renumbered densely (eos 0,
 * pad 1, the rest from 2) so the miniature model has a vocabulary of a few dozen tokens.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { parseModelConfig } from '../../src/model/config.js';
import { getArchSpec } from '../../src/model/arch.js';
import { BpeTokenizer, bpeFromTokenizerJson } from '../../src/data/bpe.js';
import { miniRecipe, type Recipe } from '../../src/train/recipe.js';
import { trainRun, type TrainRunOptions, type TrainRunResult } from '../../src/train/run.js';
import { factAccuracy, liveForwardGraph, type FactItem } from '../../src/train/accuracy.js';
import { REPO_ROOT } from '../helpers/shared.js';

const SUBJECTS = ['Aldor', 'Brivia', 'Cotland', 'Dremia', 'Esk', 'Fonra', 'Galt', 'Hesper', 'Ivra', 'Jorn', 'Kelt', 'Lumia', 'Morv', 'Norra', 'Orin', 'Pella', 'Quor', 'Rhun', 'Sarn', 'Tulia'];
const OBJECTS = ['red', 'blue', 'green', 'black', 'white', 'gold', 'silver', 'orange', 'purple', 'brown', 'pink', 'gray', 'yellow', 'violet', 'amber', 'ivory', 'coral', 'olive', 'navy', 'teal'];
/** objects are a fixed derangement of the list, so no subject–object pair is guessable by position */
const FACTS = SUBJECTS.map((s, i) => ({ subject: s, object: OBJECTS[(i * 7 + 3) % OBJECTS.length]! }));
const TEMPLATES = ['The flag of {} is', 'Q: What color is the flag of {}? A:'];

const tokJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'models', 'wise-base', 'tokenizer.json'), 'utf8'));
const bpe = new BpeTokenizer(bpeFromTokenizerJson(tokJson));

/** Dense renumbering of the BPE ids used by the toy texts (0 = eos, 1 = pad). */
function denseVocab(texts: string[]): { encode: (t: string) => number[]; size: number } {
  const map = new Map<number, number>();
  for (const t of texts) for (const id of bpe.encode(t)) if (!map.has(id)) map.set(id, map.size + 2);
  return {
    encode: (t) =>
      bpe.encode(t).map((id) => {
        const d = map.get(id);
        if (d === undefined) throw new Error(`toy text uses a token outside the toy vocabulary: ${t}`);
        return d;
      }),
    size: map.size + 2,
  };
}

const sentences = FACTS.flatMap((f) => TEMPLATES.map((t) => `${t.replace('{}', f.subject)} ${f.object}.`));
const vocab = denseVocab(sentences);
const lines = sentences.map((s) => vocab.encode(s));
const items: FactItem[] = FACTS.map((f) => ({ prompt: vocab.encode(TEMPLATES[0]!.replace('{}', f.subject)), object: vocab.encode(' ' + f.object) }));
const itemsQa: FactItem[] = FACTS.map((f) => ({ prompt: vocab.encode(TEMPLATES[1]!.replace('{}', f.subject)), object: vocab.encode(' ' + f.object) }));

/** The test's settings of the mini recipe: small rows so one epoch is several batches. */
function recipe(steps: number): Recipe {
  return { ...miniRecipe(vocab.size, steps), batch: 4, seq: 32, peakLr: 1e-2, warmup: 20 };
}

function options(r: Recipe, engine: Engine, extra: Partial<TrainRunOptions> = {}): TrainRunOptions {
  const cfg = parseModelConfig(r.config);
  return {
    spec: getArchSpec(cfg.modelType), cfg, engine, lines, eos: 0, pad: 1,
    batch: r.batch, seq: r.seq, steps: r.steps, peakLr: r.peakLr, warmup: r.warmup, minLrRatio: r.minLrRatio,
    adamw: r.adamw, clip: r.clip, seed: r.seed, checkpointDir: null, checkpointEvery: 100,
    ...extra,
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

let tmp: string;
let engine: Engine;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'wise-mini-train-'));
  engine = new Engine({ intraOpNumThreads: 2 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('training a miniature model from scratch', () => {
  it('builds a toy set with a small dense vocabulary', () => {
    expect(vocab.size).toBeLessThan(200);
    expect(new Set(FACTS.map((f) => f.object)).size).toBe(20);
    expect(lines).toHaveLength(40);
  });

  const STEPS = 300;
  let res: TrainRunResult;

  it(`trains ${STEPS} steps: loss below half its start`, async () => {
    const r = recipe(STEPS);
    const t0 = performance.now();
    res = await trainRun(options(r, engine));
    const secs = (performance.now() - t0) / 1000;
    const start = res.losses[0]!.loss;
    const end = mean(res.losses.slice(-10).map((l) => l.loss));
    console.log(`mini: vocab ${vocab.size}, ${STEPS} steps in ${secs.toFixed(1)} s; loss ${start.toFixed(3)} → ${end.toFixed(3)} (mean of the last 10)`);
    expect(res.losses).toHaveLength(STEPS);
    expect(start).toBeGreaterThan(Math.log(vocab.size) * 0.8); // a fresh model is near uniform
    expect(end).toBeLessThan(start / 2);
  });

  it('memorizes all 20 toy facts (every object token top-1, both phrasings)', async () => {
    const r = recipe(STEPS);
    const cfg = parseModelConfig(r.config);
    const spec = getArchSpec(cfg.modelType);
    const g = liveForwardGraph(spec, cfg, res.weights);
    const cloze = await factAccuracy(engine, g, spec, cfg, items, 20, 1);
    const qa = await factAccuracy(engine, g, spec, cfg, itemsQa, 20, 1);
    expect(cloze.correct.map((ok, i) => (ok ? null : FACTS[i]!.subject)).filter(Boolean)).toEqual([]);
    expect(cloze.accuracy).toBe(1);
    expect(qa.accuracy).toBe(1);
  });

  it('an interrupted run resumes from its checkpoint and replays the same batches', async () => {
    const r = recipe(40);
    const full = await trainRun(options(r, engine));
    const dir = path.join(tmp, 'ckpt');
    const stop = new Error('interrupted');
    await expect(
      trainRun(options(r, engine, {
        checkpointDir: dir,
        checkpointEvery: 20,
        onStep: (step) => {
          if (step === 27) throw stop;
        },
      })),
    ).rejects.toBe(stop);
    const resumed = await trainRun(options(r, engine, { checkpointDir: dir, checkpointEvery: 20 }));
    expect(resumed.resumedFrom).toBe(20);
    expect(resumed.losses.map((l) => l.step)).toEqual(full.losses.map((l) => l.step));
    resumed.losses.forEach((l, i) => {
      expect(l.lr).toBe(full.losses[i]!.lr);
      expect(l.loss).toBeCloseTo(full.losses[i]!.loss, 4);
    });
    for (const [name, w] of full.weights) {
      const other = resumed.weights.get(name)!.data;
      let maxDiff = 0;
      for (let i = 0; i < w.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(w.data[i]! - other[i]!));
      expect(maxDiff, name).toBeLessThan(1e-4);
    }
  });
});
