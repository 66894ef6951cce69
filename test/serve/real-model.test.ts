/**
 * The server suite (server-suite.ts) on the real WiseModelService: the tiny-llama fixture (a
 * random model) with a WISE editor over an in-memory store, configured from the llama family
 * layer (config/llama.yaml) like `wise serve` would be.
 *
 * The suite needs the edited prompt's greedy output to start with the target after one edit.
 * On this random model that takes more steps than the family's n_iter 70 (lr 1.0): measured
 * while writing this test, 30–100 steps route to the edit but decode " Pararar…" for " Paris",
 * while 150–200 steps give " Rome…" / " Paris…". So n_iter is 200 here (about 0.5 s an edit).
 */
import { describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { WiseEditor } from '../../src/edits/editor.js';
import { MemoryBacking, MemoryShardStore } from '../../src/shards/index.js';
import { resolveConfig } from '../../src/config/load.js';
import { familyLayer } from '../../src/config/family.js';
import { WiseModelService, generateText } from '../../src/serve/wise-service.js';
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
      const editor = await WiseEditor.open({ lm, store: new MemoryShardStore(new MemoryBacking()), config: config.wise, pool: POOL, owner: 'real-model test', trainProcess: true }); // as `wise serve` trains (engine.train_process)
      const service = new WiseModelService({ lm, editor });
      return {
        service,
        edit: { prompt: 'The capital of Freedonia is', target: 'Rome' },
        // the tiny model decodes 64 tokens in well under the time an edit trains, but not
        // reliably slower than the edit request's round trip: do not require the interleave
        strictInterleave: false,
        contextLength: lm.contextLength,
        logprobs: true,
        close: () => service.close(),
      };
    });
  },
  ['fixtures/hf/tiny-llama'],
);

/** generateText's decoding rules on a byte-level stand-in model (one token = one UTF-8 byte). */
describe('generateText: incremental decoding and stop strings', () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  function byteLm(reply: string, eos = false): CausalLM {
    const ids = Array.from(enc.encode(reply));
    const generate = async (_p: number[], o: { maxTokens: number; onToken?: (id: number) => boolean | void; signal?: AbortSignal }) => {
      const out: number[] = [];
      for (const id of ids.slice(0, o.maxTokens)) {
        if (o.signal?.aborted) break;
        out.push(id);
        if (o.onToken?.(id) === true) return { ids: out, finishReason: 'stop', prefill: {} };
      }
      return { ids: out, finishReason: eos && out.length === ids.length ? 'stop' : 'length', prefill: {} };
    };
    type Opts = Parameters<typeof generate>[1] & { onEnd?: (r: Awaited<ReturnType<typeof generate>>) => void };
    return {
      config: { vocabSize: 256 },
      generate,
      // rows one after another, each reported as it ends (as CausalLM.generateMany does)
      generateMany: async (ps: number[][], os: Opts[]) => {
        const outs = [];
        for (const [i, p] of ps.entries()) {
          const r = await generate(p, os[i]!);
          os[i]!.onEnd?.(r);
          outs.push(r);
        }
        return outs;
      },
      tokenizer: {
        encode: (t: string) => Array.from(enc.encode(t)),
        encodePrompt: (t: string) => Array.from(enc.encode(t)),
        decode: (xs: ArrayLike<number>) => dec.decode(Uint8Array.from(Array.from(xs))),
      },
    } as unknown as CausalLM;
  }
  const run = async (reply: string, opts: { stop?: string[]; maxTokens?: number; eos?: boolean } = {}) => {
    const pieces: string[] = [];
    const r = await generateText(byteLm(reply, opts.eos), 'Q:', { maxTokens: opts.maxTokens ?? 100, temperature: 0, topP: 1, stop: opts.stop, onText: (p) => pieces.push(p) });
    return { ...r, pieces };
  };

  it('never streams half a character, and the pieces add up to the text', async () => {
    const r = await run(' café → naïve 日本');
    expect(r.text).toBe(' café → naïve 日本');
    expect(r.pieces.join('')).toBe(r.text);
    for (const p of r.pieces) expect(p).not.toContain('\uFFFD');
    expect(r.finishReason).toBe('length');
    expect(r.memory).toBe('main');
  });

  it('stops before the first stop string, across token boundaries, without streaming any of it', async () => {
    const r = await run('hello world, hello moon', { stop: ['lo m', 'o w'] });
    expect(r.text).toBe('hell');
    expect(r.pieces.join('')).toBe('hell');
    expect(r.finishReason).toBe('stop');
    const s = await run('abc', { stop: ['bcd'] });
    expect([s.text, s.pieces.join(''), s.finishReason]).toEqual(['abc', 'abc', 'length']);
    const t = await run('ab', { stop: ['ab'] });
    expect([t.text, t.finishReason]).toEqual(['', 'stop']);
  });

  it('reports length vs stop, and an incomplete character at the very end is kept', async () => {
    expect((await run('abcdef', { maxTokens: 3 })).text).toBe('abc');
    expect((await run('abc', { eos: true })).finishReason).toBe('stop');
    const cut = await run('é', { maxTokens: 1 });
    expect(cut.text).toBe('\uFFFD');
    expect(cut.pieces.join('')).toBe('\uFFFD');
  });

  it('rejects an aborted generation', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(generateText(byteLm('abc'), 'Q:', { maxTokens: 5, temperature: 0, topP: 1, signal: ac.signal })).rejects.toThrow(/aborted/);
  });
});
