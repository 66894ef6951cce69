import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { BYTE_TO_UNICODE, BpeTokenizer, bpeFromTokenizerJson, bpeToTokenizerJson, trainBpe } from '../../src/data/bpe.js';
import { Rng } from '../../src/util/rng.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const modelDir = join(root, 'models', 'wise-base');

type HfTokenizer = Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
let hf: HfTokenizer;
let ours: BpeTokenizer;
let corpus: string[];

const ALL_BYTES_LATIN1 = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');

/** Strings that exercise unicode, every byte, whitespace runs and special tokens. */
function edgeStrings(): string[] {
  const rng = new Rng('tokenizer-test');
  const random: string[] = [];
  for (let k = 0; k < 50; k++) {
    let s = '';
    const n = 1 + rng.int(40);
    for (let i = 0; i < n; i++) {
      const pick = rng.int(4);
      // printable ASCII, control chars, BMP (no surrogates), astral plane
      const cp =
        pick === 0 ? 0x20 + rng.int(95) : pick === 1 ? rng.int(0x20) : pick === 2 ? 0xa0 + rng.int(0xd000) : 0x1f300 + rng.int(0x300);
      s += String.fromCodePoint(cp);
    }
    random.push(s);
  }
  return [
    '',
    ' ',
    '   leading and trailing   ',
    'The capital of France is Paris.',
    "Q: What's the capital of Côte d'Ivoire? A: Yamoussoukro.",
    'Ünïcødé 🙂 漢字 العربية Ελληνικά',
    'tabs\tand\nnewlines\r\n and  double  spaces',
    '<|endoftext|>Q: x? A: y<|endoftext|><|pad|>',
    'numbers 1234567890 and +1268 and .fr',
    ALL_BYTES_LATIN1,
    ...random,
  ];
}

beforeAll(async () => {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  hf = await AutoTokenizer.from_pretrained(modelDir);
  ours = new BpeTokenizer(bpeFromTokenizerJson(JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8'))));
  corpus = readFileSync(join(root, 'datasets', 'corpus.txt'), 'utf8').split('\n').filter((l) => l.length > 0);
});

describe('bundled tokenizer (models/wise-base)', () => {
  it('has ~4k tokens, special tokens with their own ids, and all 256 byte symbols', () => {
    const json = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8')) as {
      model: { vocab: Record<string, number>; byte_fallback: boolean };
      added_tokens: Array<{ id: number; content: string; special: boolean }>;
    };
    const ids = Object.values(json.model.vocab);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(4096);
    expect(Math.max(...ids)).toBe(ids.length - 1);
    expect(json.added_tokens.map((t) => [t.id, t.content, t.special])).toEqual([
      [0, '<|endoftext|>', true],
      [1, '<|pad|>', true],
    ]);
    for (let b = 0; b < 256; b++) expect(json.model.vocab[BYTE_TO_UNICODE[b] as string]).toBe(2 + b);
    expect(json.model.byte_fallback).toBe(false);
    const config = JSON.parse(readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config['eos_token']).toBe('<|endoftext|>');
    expect(config['pad_token']).toBe('<|pad|>');
    expect(hf.eos_token_id).toBe(0);
    expect(hf.pad_token_id).toBe(1);
  });

  it('transformers.js and BpeTokenizer give the same ids on a corpus sample', () => {
    const rng = new Rng('corpus-sample');
    for (let k = 0; k < 400; k++) {
      const line = corpus[rng.int(corpus.length)] as string;
      expect(ours.encode(line), line).toEqual(hf.encode(line, { add_special_tokens: false }));
    }
    // and on joined lines, as a trainer would pack them
    const packed = corpus.slice(0, 20).join('<|endoftext|>');
    expect(ours.encode(packed)).toEqual(hf.encode(packed, { add_special_tokens: false }));
  });

  it('round-trips arbitrary text, unicode and every byte, and agrees with transformers.js', () => {
    for (const s of edgeStrings()) {
      const a = hf.encode(s, { add_special_tokens: false });
      const b = ours.encode(s);
      expect(b, JSON.stringify(s)).toEqual(a);
      expect(a.every((id) => Number.isInteger(id) && id >= 0 && id < 4096)).toBe(true);
      // transformers.js refuses to decode an empty id list
      if (s !== '') expect(hf.decode(a), JSON.stringify(s)).toBe(s);
      else expect(a).toEqual([]);
      expect(ours.decode(b)).toBe(s);
    }
  });

  it('keeps corpus objects short: a space-led object is one token for common answers', () => {
    expect(ours.encode(' Paris')).toHaveLength(1);
    expect(ours.encode(' Europe')).toHaveLength(1);
  });
});

describe('BPE trainer', () => {
  it('is deterministic and writes a layout transformers.js reads', () => {
    const texts = ['low lower lowest', 'newer newest wider', 'low low low new new'];
    const a = trainBpe(texts, { vocabSize: 280, specialTokens: ['<|endoftext|>'] });
    const b = trainBpe(texts, { vocabSize: 280, specialTokens: ['<|endoftext|>'] });
    expect(a.merges).toEqual(b.merges);
    expect(a.merges[0]).toEqual(['l', 'o']);
    const json = bpeToTokenizerJson(a) as { model: { vocab: Record<string, number> } };
    expect(json.model.vocab['<|endoftext|>']).toBe(0);
    const tok = new BpeTokenizer(a);
    expect(tok.decode(tok.encode('lowest newer'))).toBe('lowest newer');
  });

  it('stops when no pair reaches minFrequency', () => {
    const m = trainBpe(['ab'], { vocabSize: 1000, specialTokens: [] });
    expect(m.merges).toEqual([]);
    expect(m.vocab.size).toBe(256);
  });

  it('rejects a vocabulary smaller than the byte alphabet', () => {
    expect(() => trainBpe(['x'], { vocabSize: 100, specialTokens: [] })).toThrowError(/vocabSize/);
  });
});
