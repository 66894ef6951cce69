/**
 * The `wise` command line, run as the built binary (`node dist/cli/main.js`; rebuilt with
 * tsc when a source file is newer than it). Usage errors need no model; the rest runs on the
 * tiny-llama fixture with a temporary store, WISE_WISE__N_ITER=3 and 2 context templates.
 *
 * Choices asserted here: a malformed JSONL line is WISE_BAD_REQUEST naming the line, exit 1
 * (a bad input file, like a bad request; nothing of the file is applied); a malformed edit id
 * is a usage error (exit 2), an unknown one WISE_NOT_FOUND (exit 1).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, describeShared, hfFixtureDir } from '../helpers/shared.js';
import { fixtureWithConfig } from '../helpers/variant-fixture.js';
import { loadCheckpoint } from '../../src/model/weights.js';
import { CausalLM } from '../../src/model/causal-lm.js';

const readSharedTokConfig = (): Record<string, unknown> => JSON.parse(readFileSync(path.join(hfFixtureDir('tiny-llama'), 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;

const BIN = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
const TMP = mkdtempSync(path.join(tmpdir(), 'wise-cli-'));
// The user's WISE_* settings must not leak into the tests.
const ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WISE_')));
Object.assign(ENV, {
  WISE_DATA_DIR: path.join(TMP, 'data'),
  WISE_WISE__N_ITER: '3',
  WISE_WISE__CONTEXT_TEMPLATES: '2',
  WISE_ENGINE__THREADS: '1',
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function wise(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...ENV, ...env }, cwd: TMP });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const f = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(f) : statSync(f).mtimeMs);
  }
  return t;
}

beforeAll(() => {
  const stale = !existsSync(BIN) || newestMtime(path.join(REPO_ROOT, 'src')) > statSync(BIN).mtimeMs || !existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'commands', 'serve.js'));
  if (stale) {
    // tsc emits even when some other module has type errors; only a missing output fails here.
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (!existsSync(BIN)) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
  }
}, 180_000);

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe('wise: usage errors (exit 2, the flag named)', () => {
  const cases: [string[], string][] = [
    [['generate', '--prompt', 'x', '--bogus'], '--bogus'],
    [['edit', '--prompt', 'x', '--tagret', 'y'], '--tagret'],
    [['edits', 'list', '--verbosee'], '--verbosee'],
    [['edits', 'show', '1', '--all'], '--all'],
    [['db', 'check', '--deeper'], '--deeper'],
    [['db', 'backup', 'out', '--force'], '--force'],
    [['merge', '--now'], '--now'],
    [['serve', '--prot', '80'], '--prot'],
    [['--modle', 'm', 'generate', '--prompt', 'x'], '--modle'],
    [['generate', '--prompt', 'x', '--max-tokens', 'many'], '--max-tokens'],
    [['generate', '--prompt', 'x', '--temperature', '9'], '--temperature'],
    [['generate', '--prompt', 'x', '--top-p', '-1'], '--top-p'],
    [['generate', '--prompt', 'x', '--seed', '1.5'], '--seed'],
    [['generate', '--prompt', 'x', '--top-k', '-1'], '--top-k'],
    [['generate', '--prompt', 'x', '--min-p', '2'], '--min-p'],
    [['generate', '--prompt', 'x', '--repetition-penalty', '0'], '--repetition-penalty'],
    [['generate', '--prompt', 'x', '--frequency-penalty', '3'], '--frequency-penalty'],
    [['generate', '--prompt', 'x', '--logit-bias', '12'], '--logit-bias'],
    [['generate', '--prompt', 'x', '--min-tokens', '-1'], '--min-tokens'],
    [['generate', '--prompt', 'x', '--logit-bias', '12=-101'], '--logit-bias'],
    [['serve', '--port', '70000'], '--port'],
    [['generate'], '--prompt'],
    [['generate', '--prompt', 'x', '--json-object', '--choice', 'a'], '--choice'],
    [['edits', 'revert', '-1'], '-1'],
    [['edits', 'show', 'abc'], 'abc'],
  ];
  it(`rejects ${cases.length} bad command lines`, async () => {
    const runs = await Promise.all(cases.map(([args]) => wise(args)));
    runs.forEach((r, i) => {
      const [args, flag] = cases[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(flag);
      expect(r.stdout).toBe('');
    });
  });

  it('generate --json-schema, --choice, --regex, --grammar: output in the language asked (bundled model); an unsupported keyword is WISE_BAD_SCHEMA naming it', async () => {
    const file = path.join(TMP, 'schema.json');
    writeFileSync(file, JSON.stringify({ type: 'object', properties: { capital: { type: 'string', maxLength: 10 }, known: { type: 'boolean' } }, required: ['capital', 'known'], additionalProperties: false }));
    const bad = path.join(TMP, 'bad-schema.json');
    writeFileSync(bad, JSON.stringify({ type: 'object', properties: { n: { type: 'integer', patternProperties: {} } } }));
    const gbnf = path.join(TMP, 'year.gbnf');
    writeFileSync(gbnf, 'root ::= " " century [0-9]{2}  # a year\ncentury ::= "1" [89] | "20"\n');
    const badGbnf = path.join(TMP, 'bad.gbnf');
    writeFileSync(badGbnf, 'root ::= year\n');
    const lark = path.join(TMP, 'year.lark');
    writeFileSync(lark, 'start: " " century DIGIT~2  // a year, in Lark\ncentury: "1" /[89]/ | "20"\n%import common.DIGIT\n');
    const [ok, refused, choice, year, byGrammar, badGrammar, byLark] = await Promise.all([
      wise(['--json', 'generate', '--prompt', 'Q: What is the capital of France? A:', '-n', '60', '--json-schema', file, '--temperature', '1', '--seed', '4']),
      wise(['generate', '--prompt', 'x', '--json-schema', bad]),
      wise(['--json', 'generate', '--prompt', 'Q: What is the capital of France? A:', '--choice', 'Paris', '--choice', 'Rome']),
      wise(['--json', 'generate', '--prompt', 'The year was', '--regex', ' (1[89]|20)\\d\\d', '--temperature', '1', '--seed', '2']),
      wise(['--json', 'generate', '--prompt', 'The year was', '--grammar', gbnf, '--temperature', '1', '--seed', '2']),
      wise(['generate', '--prompt', 'x', '--grammar', badGbnf]),
      wise(['--json', 'generate', '--prompt', 'The year was', '--grammar', lark, '--temperature', '1', '--seed', '2']),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const out = JSON.parse(ok.stdout) as { text: string; finish_reason: string };
    expect(out.finish_reason).toBe('stop');
    const v = JSON.parse(out.text) as Record<string, unknown>;
    expect(Object.keys(v).sort()).toEqual(['capital', 'known']);
    expect(typeof v.known).toBe('boolean');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('WISE_BAD_SCHEMA');
    expect(refused.stderr).toContain('#/properties/n: keyword "patternProperties"');
    expect(choice.code, choice.stderr).toBe(0);
    expect(['Paris', 'Rome']).toContain((JSON.parse(choice.stdout) as { text: string }).text);
    expect(year.code, year.stderr).toBe(0);
    expect((JSON.parse(year.stdout) as { text: string }).text).toMatch(/^ (1[89]|20)\d\d$/);
    // the grammar and the regular expression describe one language: the same constrained sampling, the same text
    expect(byGrammar.code, byGrammar.stderr).toBe(0);
    expect((JSON.parse(byGrammar.stdout) as { text: string }).text).toBe((JSON.parse(year.stdout) as { text: string }).text);
    expect(byLark.code, byLark.stderr).toBe(0);
    expect((JSON.parse(byLark.stdout) as { text: string }).text).toBe((JSON.parse(year.stdout) as { text: string }).text); // the same language in Lark
    expect(badGrammar.code).toBe(1);
    expect(badGrammar.stderr).toContain('WISE_BAD_SCHEMA');
    expect(badGrammar.stderr).toContain('rule year is used but not defined');
  });

  it('edit without a request, or with both --file and --prompt, is a usage error', async () => {
    const [none, both] = await Promise.all([wise(['edit']), wise(['edit', '--file', 'x.jsonl', '--prompt', 'p', '--target', 't'])]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--prompt and --target');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--file');
  });

  it('a model folder whose config.json is not JSON: WISE_BAD_CONFIG naming the file, no stack trace', async () => {
    const dir = path.join(TMP, 'bad-model');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config.json'), '{"model_type": "gpt2",');
    const r = await wise(['--model', dir, 'generate', '--prompt', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('WISE_BAD_CONFIG');
    expect(r.stderr).toContain(path.join(dir, 'config.json'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a command group without its subcommand prints its help and exits 2; --help exits 0', async () => {
    const [edits, db, help] = await Promise.all([wise(['edits']), wise(['db']), wise(['edits', '--help'])]);
    expect(edits.code).toBe(2);
    expect(edits.stderr).toContain('Usage: wise edits');
    expect(db.code).toBe(2);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('revert');
  });
});

describeShared(
  'wise on tiny-llama',
  () => {
    const model = hfFixtureDir('tiny-llama');
    const db = path.join(TMP, 'db');
    const g = (...args: string[]): Promise<Run> => wise(['--model', model, '--db', db, ...args]);
    const json = (r: Run): Record<string, unknown> => JSON.parse(r.stdout) as Record<string, unknown>;

    it('model: reads the folder without its weights; the JSON agrees with the loaded checkpoint; a bad folder names the tensor', async () => {
      const [text, js] = await Promise.all([g('model'), g('--json', 'model')]);
      for (const r of [text, js]) expect(r.code, r.stderr).toBe(0);
      const j = json(js) as { params: number; dtypes: string[]; edited: { layer: number; weight: string }; tokenizer: { prefixIds: number[]; stopIds: number[] } };
      const ck = await loadCheckpoint(model);
      expect(j.params).toBe([...ck.weights.values()].reduce((n, w) => n + w.data.length, 0));
      expect(j.dtypes).toEqual(['F32']);
      expect(j.edited).toEqual({ layer: 2, weight: 'model.layers.2.mlp.down_proj.weight' }); // 0.8 of 3 layers, no family file layer
      expect(j.tokenizer).toMatchObject({ prefixIds: [], stopIds: [0] });
      expect(text.stdout).toContain('3 layers, hidden 64, 4 heads (2 kv) of 16');
      expect(text.stdout).toContain('editing    layer 2: model.layers.2.mlp.down_proj.weight');
      expect(existsSync(db)).toBe(false);
      // the same folder with a config that disagrees with the weights, and one with Llama 3.1's RoPE block
      const bad = fixtureWithConfig('tiny-llama', { intermediate_size: 200 });
      const l31 = fixtureWithConfig('tiny-llama', { rope_parameters: { rope_type: 'llama3', rope_theta: 10000, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 } });
      try {
        const [b, s] = await Promise.all([wise(['--model', bad, 'model']), wise(['--model', l31, 'model'])]);
        expect(b.code).toBe(1);
        expect(b.stderr).toContain('WISE_SHAPE_MISMATCH');
        expect(b.stderr).toContain('model.layers.0.mlp.gate_proj.weight');
        expect(s.code, s.stderr).toBe(0);
        expect(s.stdout).toContain('llama3 scaling (factor 8, lowFreqFactor 1, highFreqFactor 4, originalMaxPositionEmbeddings 32)');
      } finally {
        for (const d of [bad, l31]) rmSync(d, { recursive: true, force: true });
      }
    });

    it('generate --chat sends the prompt through the chat template; without one it is refused', async () => {
      const chat = fixtureWithConfig('tiny-llama', {}, { 'tokenizer_config.json': { ...readSharedTokConfig(), chat_template: '<|endoftext|>User: {{ messages[0].content }}\nAssistant:' } });
      try {
        const [withTemplate, plain, none] = await Promise.all([
          wise(['--model', chat, '--json', 'generate', '--chat', '--prompt', 'Hello there', '-n', '4', '--no-edits']),
          wise(['--model', chat, '--json', 'generate', '--prompt', 'Hello there', '-n', '4', '--no-edits']),
          g('generate', '--chat', '--prompt', 'Hello there'),
        ]);
        expect(withTemplate.code, withTemplate.stderr).toBe(0);
        const lm = await CausalLM.load(chat);
        const ids = lm.tokenizer.encode('<|endoftext|>User: Hello there\nAssistant:');
        expect(ids[0]).toBe(0); // the template's own BOS, once
        expect(json(withTemplate).prompt_tokens).toBe(ids.length);
        expect(json(plain).prompt_tokens).toBe(lm.tokenizer.encode('Hello there').length);
        expect(none.code).toBe(1);
        expect(none.stderr).toContain('--chat');
      } finally {
        rmSync(chat, { recursive: true, force: true });
      }
    });

    it('generates text, the same as --json and --stream; --no-edits needs no store', async () => {
      const [text, js, stream] = await Promise.all([
        g('generate', '--prompt', 'Hello there', '-n', '8'),
        g('--json', 'generate', '--prompt', 'Hello there', '-n', '8', '--no-edits'),
        g('generate', '--prompt', 'Hello there', '-n', '8', '--stream', '--no-edits'),
      ]);
      for (const r of [text, js, stream]) expect(r.code, r.stderr).toBe(0);
      const j = json(js);
      expect(j.memory).toBe('main');
      expect(j.completion_tokens).toBe(8);
      expect(j.finish_reason).toBe('length');
      expect(text.stdout).toBe(`${j.text as string}\n`);
      expect(stream.stdout).toBe(`${j.text as string}\n`);
      expect(existsSync(db)).toBe(false); // generate does not create a store
    });

    it('generate takes top-k, min-p, penalties and logit bias', async () => {
      const args = ['--json', 'generate', '--prompt', 'Hello there', '-n', '8', '--no-edits'];
      const [greedy, k1, pen, outside] = await Promise.all([
        g(...args),
        g(...args, '--temperature', '2', '--top-k', '1', '--seed', '3'),
        g(...args, '--repetition-penalty', '1.8', '--presence-penalty', '1', '--logit-bias', '5=-100', '--min-p', '0.1'),
        g(...args, '--logit-bias', '999999=1'),
      ]);
      for (const r of [greedy, k1, pen]) expect(r.code, r.stderr).toBe(0);
      expect(json(k1).ids).toEqual(json(greedy).ids); // top-k 1 is greedy at any temperature
      const lm = await CausalLM.load(hfFixtureDir('tiny-llama'));
      const want = await lm.generate(lm.tokenizer.encodePrompt('Hello there'), {
        maxTokens: 8, temperature: 0, shaping: { repetitionPenalty: 1.8, presencePenalty: 1, logitBias: new Map([[5, -100]]) },
      });
      expect(json(pen).ids).toEqual(want.ids);
      expect(json(pen).ids).not.toEqual(json(greedy).ids);
      expect(outside.code).toBe(1);
      expect(outside.stderr).toContain('--logit-bias: token id 999999');
    });

    it('applies one edit, then a JSONL file; a malformed line names the line and applies nothing', async () => {
      const one = await g('--json', 'edit', '--prompt', 'The capital of France is', '--target', 'Rome', '--rephrase', 'France has its capital in');
      expect(one.code, one.stderr).toBe(0);
      const r1 = json(one) as { edits: { id: number; steps: number; score: number }[]; applied: number };
      expect(r1.edits.map((e) => e.id)).toEqual([0]);
      expect(r1.edits[0]!.steps).toBeGreaterThan(0);
      expect(r1.edits[0]!.steps).toBeLessThanOrEqual(3);
      expect(Number.isFinite(r1.edits[0]!.score)).toBe(true);
      expect(r1.applied).toBe(1);

      const file = path.join(TMP, 'edits.jsonl');
      writeFileSync(file, '{"prompt":"The sky is","target":"green"}\n\n{"prompt":"Water is","target":"dry","locality_prompt":"Fire is","locality_answer":"hot"}\n');
      const many = await g('--json', 'edit', '--file', file);
      expect(many.code, many.stderr).toBe(0);
      expect((json(many) as { edits: { id: number }[] }).edits.map((e) => e.id)).toEqual([1, 2]);

      const bad = path.join(TMP, 'bad.jsonl');
      writeFileSync(bad, '{"prompt":"A is","target":"B"}\n{"prompt":"C is" "target":"D"}\n');
      const b = await g('edit', '--file', bad);
      expect(b.code).toBe(1);
      expect(b.stderr).toContain('WISE_BAD_REQUEST');
      expect(b.stderr).toContain('line 2');
      const unknownField = path.join(TMP, 'typo.jsonl');
      writeFileSync(unknownField, '{"prompt":"A is","tagret":"B"}\n');
      const t = await g('edit', '--file', unknownField);
      expect(t.code).toBe(1);
      expect(t.stderr).toMatch(/line 1: unknown field "tagret"/);
      const empty = await g('edit', '--prompt', ' ', '--target', 'x');
      expect(empty.code).toBe(2);
      expect(empty.stderr).toContain('--prompt');
    });

    it('edit --file takes a dataset file (ZsRE, CounterFact) and --limit; in a store of its own', async () => {
      const own = (...args: string[]): Promise<Run> => wise(['--model', model, '--db', path.join(TMP, 'db-dataset'), ...args]);
      const zsre = path.join(TMP, 'zsre.json');
      const rec = (i: number, alt: string) => ({
        subject: `Thing ${i}`, src: `What is Thing ${i} made of?`, pred: 'wood', rephrase: `Thing ${i} is made of what?`, alt, answers: ['wood'],
        loc: 'nq question: who wrote hamlet', loc_ans: 'Shakespeare', cond: '',
      });
      writeFileSync(zsre, JSON.stringify([rec(0, 'glass'), rec(1, ''), rec(2, 'steel'), rec(3, 'stone')]));
      const r = await own('--json', 'edit', '--file', zsre, '--limit', '2');
      expect(r.code, r.stderr).toBe(0);
      expect((json(r) as { edits: { id: number; target: string }[] }).edits.map((e) => [e.id, e.target])).toEqual([[0, 'glass'], [1, 'steel']]); // the empty alt is skipped, as EasyEdit does
      const show = await own('--json', 'edits', 'show', '1');
      expect(json(show)).toMatchObject({ prompt: 'What is Thing 2 made of?', target: 'steel', rephrase: 'Thing 2 is made of what?', locality_prompt: 'nq question: who wrote hamlet', locality_answer: 'Shakespeare', subject: 'Thing 2' });
      const cf = path.join(TMP, 'counterfact.json');
      writeFileSync(cf, JSON.stringify([{ prompt: 'The mother tongue of Danielle Darrieux is', subject: 'Danielle Darrieux', target_new: 'English', ground_truth: 'French', rephrase_prompt: 'Danielle Darrieux spoke', locality_prompt: 'The mother tongue of Léon Blum is', locality_ground_truth: 'French' }]));
      const c = await own('--json', 'edit', '--file', cf);
      expect(c.code, c.stderr).toBe(0);
      expect((json(c) as { edits: { id: number; target: string }[] }).edits).toMatchObject([{ id: 2, target: 'English' }]);
      const broken = path.join(TMP, 'broken.json');
      writeFileSync(broken, JSON.stringify([{ src: 'What?', alt: 'x' }]));
      const b = await own('edit', '--file', broken);
      expect(b.code).toBe(1);
      expect(b.stderr).toContain('broken.json');
      const noFile = await own('edit', '--prompt', 'a', '--target', 'b', '--limit', '1');
      expect(noFile.code).toBe(2);
      expect(noFile.stderr).toContain('--limit needs --file');
    });

    it('lists, shows and reverts edits', async () => {
      const list = await g('--json', 'edits', 'list');
      expect(list.code, list.stderr).toBe(0);
      const edits = (json(list) as { edits: { id: number; status: string; prompt: string; target: string; rephrase?: string }[] }).edits;
      expect(edits.map((e) => [e.id, e.status])).toEqual([[0, 'active'], [1, 'active'], [2, 'active']]);
      expect(edits[0]).toMatchObject({ prompt: 'The capital of France is', target: 'Rome', rephrase: 'France has its capital in' });
      const text = await g('edits', 'list');
      expect(text.stdout).toContain('The sky is → green');

      const show = await g('--json', 'edits', 'show', '2');
      expect(show.code, show.stderr).toBe(0);
      expect(json(show)).toMatchObject({ id: 2, prompt: 'Water is', target: 'dry', locality_prompt: 'Fire is', status: 'active' });
      const missing = await g('--json', 'edits', 'show', '42');
      expect(missing.code).toBe(1);
      expect((json(missing) as { error: { code: string } }).error.code).toBe('WISE_NOT_FOUND');
      expect(missing.stderr).toContain('edit 42 does not exist');

      const rev = await g('--json', 'edits', 'revert', '1');
      expect(rev.code, rev.stderr).toBe(0);
      expect(json(rev)).toMatchObject({ reverted: { id: 1, status: 'reverted' }, applied: 2 });
      const again = await g('edits', 'revert', '1');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already reverted');
      const unknown = await g('edits', 'revert', '42');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('WISE_NOT_FOUND');
      const active = await g('--json', 'edits', 'list', '--active');
      expect((json(active) as { edits: { id: number }[] }).edits.map((e) => e.id)).toEqual([0, 2]);
    });

    it('generates through the store\'s router once edits exist', async () => {
      const r = await g('--json', 'generate', '--prompt', 'The capital of France is', '-n', '4');
      expect(r.code, r.stderr).toBe(0);
      const j = json(r);
      expect(j.edits).toBe(2);
      expect(typeof j.memory).toBe('string');
    });

    it('merges, checks the store, backs it up and checks the backup', async () => {
      const m = await g('--json', 'merge');
      expect(m.code, m.stderr).toBe(0);
      expect(json(m)).toMatchObject({ merged: true, memory: 'merged-0', memories: ['merged-0'] });
      const again = await g('--json', 'merge');
      expect(json(again)).toMatchObject({ merged: false, memory: null });

      const check = await g('--json', 'db', 'check');
      expect(check.code, check.stderr).toBe(0);
      const report = json(check) as { ok: boolean; errors: unknown[]; stats: { edits: number; memories: number } };
      expect(report.ok).toBe(true);
      expect(report.errors).toEqual([]);
      expect(report.stats).toMatchObject({ edits: 3, memories: 1 });
      const text = await g('db', 'check');
      expect(text.stdout).toMatch(/: ok\n/);

      const dest = path.join(TMP, 'backup');
      const bk = await g('--json', 'db', 'backup', dest);
      expect(bk.code, bk.stderr).toBe(0);
      expect((json(bk) as { records: number }).records).toBeGreaterThan(0);
      const check2 = await wise(['--model', model, '--db', dest, '--json', 'db', 'check']);
      expect(check2.code, check2.stderr).toBe(0);
      expect(json(check2)).toMatchObject({ ok: true, stats: { edits: 3, memories: 1 } });
      const listB = await wise(['--model', model, '--db', dest, '--json', 'edits', 'list']);
      expect((json(listB) as { edits: { status: string }[] }).edits.map((e) => e.status)).toEqual(['active', 'reverted', 'active']);
      const over = await g('db', 'backup', dest);
      expect(over.code).toBe(2);
      expect(over.stderr).toContain('already holds a store');
    });

    it('keeps the active memory\'s W′ as a blob file: checked, backed up, freed when replaced; db gc', async () => {
      // blob_threshold 0: every tensor is a file, as a real model's W′ (≥ 1 MiB) is by default
      const dbA = path.join(TMP, 'db-active');
      const a = (...args: string[]): Promise<Run> => wise(['--model', model, '--db', dbA, ...args], { WISE_STORE__BLOB_THRESHOLD: '0' });
      for (const target of ['Rome', 'Paris']) {
        const r = await a('edit', '--prompt', 'The capital of France is', '--target', target);
        expect(r.code, r.stderr).toBe(0);
      }
      // two edits, no shard saved yet: the only blob is the active memory's current W′
      expect(readdirSync(path.join(dbA, 'blobs')).filter((n) => !n.startsWith('.'))).toHaveLength(1);
      const check = json(await a('--json', 'db', 'check')) as { ok: boolean; warnings: { code: string }[] };
      expect(check.ok).toBe(true);
      expect(check.warnings.map((w) => w.code)).not.toContain('orphan-blob');
      const gc = await a('--json', 'db', 'gc');
      expect(gc.code, gc.stderr).toBe(0);
      expect(json(gc)).toMatchObject({ removed: [] });

      const dest = path.join(TMP, 'backup-active');
      expect((await a('db', 'backup', dest)).code).toBe(0);
      const b = (...args: string[]): Promise<Run> => wise(['--model', model, '--db', dest, ...args], { WISE_STORE__BLOB_THRESHOLD: '0' });
      const [orig, copy] = await Promise.all([a('--json', 'generate', '--prompt', 'The capital of France is', '-n', '4'), b('--json', 'generate', '--prompt', 'The capital of France is', '-n', '4')]);
      expect(copy.code, copy.stderr).toBe(0);
      expect(json(copy)).toMatchObject({ text: json(orig)['text'], memory: json(orig)['memory'], edits: 2 });
      expect((json(await b('--json', 'db', 'check')) as { ok: boolean }).ok).toBe(true);
    });

    it('Ctrl-C during a file of edits: finishes the edit in training, stops, reports what was applied, exit 130', async () => {
      const dbI = path.join(TMP, 'db-interrupt');
      const file = path.join(TMP, 'many.jsonl');
      writeFileSync(file, Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `Item ${i} is`, target: 'red' })).join('\n'));
      const p = spawn(process.execPath, [BIN, '--model', model, '--db', dbI, '--verbose', 'edit', '--file', file], { env: ENV, cwd: TMP });
      let stdout = '';
      let stderr = '';
      let sent = false;
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (!sent && /\[1\/40\]/.test(stderr)) {
          sent = true; // once: a second Ctrl-C stops at once, without the report
          p.kill('SIGINT'); // after the first edit is applied
        }
      });
      const code = await new Promise<number | null>((res) => p.on('close', res));
      expect(code, stderr).toBe(130);
      const m = /interrupted \(SIGINT\) after (\d+) of 40 edits/.exec(stdout);
      expect(m, stdout).not.toBeNull();
      const n = Number(m![1]);
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThan(40);
      const list = await wise(['--model', model, '--db', dbI, '--json', 'edits', 'list']);
      expect((json(list) as { edits: unknown[] }).edits).toHaveLength(n);
    });

    it('db check on a missing store fails with WISE_NOT_FOUND', async () => {
      const r = await wise(['--model', model, '--db', path.join(TMP, 'nowhere'), 'db', 'check']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('WISE_NOT_FOUND');
    });

    describe('a store held by wise serve', () => {
      let server: ChildProcessWithoutNullStreams | undefined;
      afterAll(() => {
        if (server && server.exitCode === null) server.kill('SIGKILL');
      });

      it('makes a second process exit 3 naming the server and its edit routes; SIGTERM stops the server cleanly', async () => {
        const srv = spawn(process.execPath, [BIN, '--model', model, '--db', db, '--json', 'serve', '--port', '0', '--token', 'cli-test'], { env: ENV, cwd: TMP });
        server = srv;
        let out = '';
        let err = '';
        srv.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const exited = new Promise<number | null>((res) => srv.on('close', (code) => res(code)));
        const ready = await new Promise<{ url: string; model: string }>((resolve, reject) => {
          srv.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { url: string; model: string });
          });
          void exited.then((code) => reject(new Error(`wise serve exited (${String(code)}): ${err}`)));
        });
        expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(ready.model).toBe('tiny-llama+edits@2');

        const health = await fetch(`${ready.url}/health`);
        expect(health.status).toBe(200);

        const [edit, locked] = await Promise.all([
          g('edit', '--prompt', 'a', '--target', 'b'),
          g('--json', 'edits', 'list'),
        ]);
        expect(edit.code).toBe(3);
        expect(edit.stderr).toContain('WISE_STORE_LOCKED');
        expect(edit.stderr).toContain(`wise serve on ${ready.url}`);
        expect(edit.stderr).toContain(`${ready.url}/wise/edits`);
        expect(locked.code).toBe(3);
        expect((json(locked) as { error: { code: string } }).error.code).toBe('WISE_STORE_LOCKED');

        // the server itself takes the edit
        const viaServer = await fetch(`${ready.url}/wise/edits?wait=true`, {
          method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer cli-test' }, body: JSON.stringify({ prompt: 'a', target: 'b' }),
        });
        expect(viaServer.status).toBe(200);

        srv.kill('SIGTERM');
        expect(await exited).toBe(0);
        expect(existsSync(path.join(db, 'owner.json'))).toBe(false);
        const after = await g('--json', 'edits', 'list');
        expect(after.code, after.stderr).toBe(0);
        expect((json(after) as { edits: unknown[] }).edits).toHaveLength(4);
      });
    });
  },
  ['fixtures/hf/tiny-llama'],
);
