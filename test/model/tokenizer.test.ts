import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWiseError, type ErrorCode } from '../../src/util/errors.js';
import { checkIds, loadTokenizer, type Tokenizer } from '../../src/model/tokenizer.js';
import { HF_FIXTURES, describeShared, hfFixtureDir, readSharedJson } from '../helpers/shared.js';

interface RefCase {
  prompt: string;
  target: string;
  prompt_ids: number[];
  target_ids: number[];
  input_ids: number[];
  greedy_ids: number[];
  greedy_text: string;
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return null;
}

function expectWise(err: unknown, code: ErrorCode, mentions: string[] = []): void {
  expect(isWiseError(err), `expected WiseError ${code}, got ${String(err)}`).toBe(true);
  if (isWiseError(err)) {
    expect(err.code).toBe(code);
    for (const m of mentions) expect(err.message + JSON.stringify(err.details)).toContain(m);
  }
}

describe('checkIds', () => {
  it('accepts ids in range and rejects the first bad one by id and position', () => {
    expect(() => checkIds([0, 5, 9], 10)).not.toThrow();
    const err = errorOf(() => checkIds([1, 2, 10, 3], 10));
    expectWise(err, 'WISE_TOKEN_OUT_OF_RANGE', ['id 10', 'position 2']);
    expect(isWiseError(err) && err.details).toMatchObject({ id: 10, position: 2, vocabSize: 10 });
    expectWise(errorOf(() => checkIds([-1], 10)), 'WISE_TOKEN_OUT_OF_RANGE');
    expectWise(errorOf(() => checkIds([3, 1.5], 10)), 'WISE_TOKEN_OUT_OF_RANGE');
  });
});

describeShared('tokenizer on the HF fixtures', () => {
  const toks = new Map<string, Tokenizer>();
  let tmp: string;
  beforeAll(async () => {
    for (const name of HF_FIXTURES) toks.set(name, await loadTokenizer(hfFixtureDir(name)));
    tmp = await mkdtemp(path.join(os.tmpdir(), 'wise-tok-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it.each(HF_FIXTURES)('%s: encode(prompt/target) and decode(greedy) match reference.json', (name) => {
    const tok = toks.get(name)!;
    const ref = readSharedJson<{ cases: RefCase[] }>(`fixtures/hf/${name}/reference.json`);
    expect(ref.cases.length).toBeGreaterThan(0);
    for (const c of ref.cases) {
      expect(tok.encode(c.prompt)).toEqual(c.prompt_ids);
      expect(tok.encode(c.target)).toEqual(c.target_ids);
      expect([...c.prompt_ids, ...c.target_ids]).toEqual(c.input_ids);
      expect(tok.decode(c.greedy_ids)).toBe(c.greedy_text);
      expect(tok.decode(c.prompt_ids)).toBe(c.prompt);
    }
  });

  it('exposes special ids, vocab size and no chat template', () => {
    const tok = toks.get('tiny-llama')!;
    expect(tok.vocabSize).toBe(512);
    expect(tok.eosId).toBe(0);
    expect(tok.bosId).toBe(0);
    expect(tok.padId).toBeNull(); // tokenizer_config.json declares none
    expect(tok.chatTemplate).toBeNull();
    expect(tok.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBeNull();
    expect(tok.encode('')).toEqual([]);
    expect(tok.decode([])).toBe('');
    expect(tok.decode([0, 52])).toBe('<|endoftext|>T');
    expect(tok.decode([0, 52], { skipSpecialTokens: true })).toBe('T');
  });

  it('decode of an id ≥ vocab → WISE_TOKEN_OUT_OF_RANGE naming id and position', () => {
    const tok = toks.get('tiny-gpt2')!;
    expectWise(errorOf(() => tok.decode([52, 262, 512])), 'WISE_TOKEN_OUT_OF_RANGE', ['512', 'position 2']);
  });

  it('missing tokenizer files → WISE_FILE_NOT_FOUND naming the file', async () => {
    const dir = path.join(tmp, 'no-config');
    await mkdir(dir);
    await copyFile(path.join(hfFixtureDir('tiny-gpt2'), 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    const err = await loadTokenizer(dir).then(() => null, (e: unknown) => e);
    expectWise(err, 'WISE_FILE_NOT_FOUND', ['tokenizer_config.json']);
    const err2 = await loadTokenizer(path.join(tmp, 'nowhere')).then(() => null, (e: unknown) => e);
    expectWise(err2, 'WISE_FILE_NOT_FOUND', ['tokenizer.json']);
  });

  it('applies a chat template from tokenizer_config.json', async () => {
    const dir = path.join(tmp, 'chat');
    await mkdir(dir);
    const src = hfFixtureDir('tiny-qwen2');
    await copyFile(path.join(src, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    const cfg = readSharedJson<Record<string, unknown>>('fixtures/hf/tiny-qwen2/tokenizer_config.json');
    const template = '{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}';
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ ...cfg, chat_template: template, pad_token: '<|endoftext|>' }));
    const tok = await loadTokenizer(dir);
    expect(tok.chatTemplate).toBe(template);
    expect(tok.padId).toBe(0);
    expect(tok.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }])).toBe('<system>Be brief.\n<user>Hi\n<assistant>');
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: false })).toBe('<user>Hi\n');
  });
}, ['fixtures/hf']);
