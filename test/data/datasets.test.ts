import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASET_FILES, generateAll, sha256, writeGenerated, type GenerateResult } from '../../src/data/generate.js';
import { heldOutTemplates, trainTemplates } from '../../src/data/relations.js';
import type { PooledFact } from '../../src/data/split.js';
import { factSentence, fillTemplate } from '../../src/data/text.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let gen: GenerateResult;
let tmp: string;

beforeAll(() => {
  gen = generateAll({ rootDir: root });
  tmp = mkdtempSync(join(tmpdir(), 'wise-datasets-'));
  writeGenerated(gen.files, tmp);
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('datasets: reproducible generation', () => {
  it('regenerates every committed file byte for byte (sha256)', () => {
    const expected = Object.values(DATASET_FILES).sort();
    expect(gen.files.map((f) => f.path).sort()).toEqual(expected);
    const mismatches: string[] = [];
    for (const f of gen.files) {
      const committed = join(root, ...f.path.split('/'));
      const regenerated = join(tmp, ...f.path.split('/'));
      if (!existsSync(committed) || sha256(readFileSync(committed)) !== sha256(readFileSync(regenerated))) mismatches.push(f.path);
    }
    expect(mismatches, 'run `npm run datasets:generate` and commit the result').toEqual([]);
  });

  it('manifest hashes match the files', () => {
    const manifest = JSON.parse(readFileSync(join(tmp, DATASET_FILES.manifest), 'utf8')) as { sha256: Record<string, string> };
    for (const f of gen.files) {
      if (f.path === DATASET_FILES.manifest) continue;
      expect(manifest.sha256[f.path]).toBe(sha256(readFileSync(join(tmp, ...f.path.split('/')))));
    }
  });

  it('is deterministic within a process', () => {
    const again = generateAll({ rootDir: root });
    expect(again.files.map((f) => sha256(f.content))).toEqual(gen.files.map((f) => sha256(f.content)));
  });
});

/** training-template prompt → the facts it asks about */
function promptIndex(): Map<string, PooledFact[]> {
  const rels = new Map(gen.relations.map((r) => [r.id, r]));
  const m = new Map<string, PooledFact[]>();
  for (const f of gen.facts) {
    const r = rels.get(f.relation);
    if (!r) throw new Error(f.relation);
    for (const t of trainTemplates(r)) {
      const p = fillTemplate(t.text, f.subject);
      const l = m.get(p) ?? [];
      l.push(f);
      m.set(p, l);
    }
  }
  return m;
}

describe('datasets: content invariants', () => {
  it('has 15–25 relations, each with >= 12 templates, 2 held out (one cloze, one QA)', () => {
    expect(gen.relations.length).toBeGreaterThanOrEqual(15);
    expect(gen.relations.length).toBeLessThanOrEqual(25);
    for (const r of gen.relations) {
      expect(r.templates.length).toBeGreaterThanOrEqual(12);
      const held = heldOutTemplates(r);
      expect(held.map((t) => t.kind).sort()).toEqual(['cloze', 'qa']);
      for (const t of r.templates) {
        expect(t.text.split('{}')).toHaveLength(2);
        expect(t.text).not.toMatch(/\s$/);
      }
    }
  });

  it('has 3,000–8,000 facts, one object per (relation, subject)', () => {
    expect(gen.facts.length).toBeGreaterThanOrEqual(3000);
    expect(gen.facts.length).toBeLessThanOrEqual(8000);
    const keys = new Set(gen.facts.map((f) => `${f.relation}\u0000${f.subject}`));
    expect(keys.size).toBe(gen.facts.length);
    for (const f of gen.facts) {
      expect(f.object).toMatch(/^[\x20-\x7e]+$/);
      expect(f.subject).toMatch(/^[\x20-\x7e]+$/);
    }
  });

  it('the corpus holds every fact with every training template and no held-out template', () => {
    const lines = new Set(gen.corpus);
    expect(lines.size).toBe(gen.corpus.length);
    const rels = new Map(gen.relations.map((r) => [r.id, r]));
    let n = 0;
    for (const f of gen.facts) {
      const r = rels.get(f.relation);
      if (!r) throw new Error(f.relation);
      for (const t of trainTemplates(r)) {
        expect(lines.has(factSentence(fillTemplate(t.text, f.subject), f.object))).toBe(true);
        n++;
      }
      for (const t of heldOutTemplates(r)) expect(lines.has(factSentence(fillTemplate(t.text, f.subject), f.object))).toBe(false);
    }
    expect(n).toBe(gen.corpus.length);
  });

  it('ZsRE records mirror the real field types', () => {
    const zsre = JSON.parse(readFileSync(join(tmp, DATASET_FILES.zsre), 'utf8')) as Array<Record<string, unknown>>;
    const train = JSON.parse(readFileSync(join(tmp, DATASET_FILES.train), 'utf8')) as Array<Record<string, unknown>>;
    expect(zsre).toHaveLength(1000);
    expect(train).toHaveLength(1000);
    for (const rec of [...zsre, ...train]) {
      expect(Object.keys(rec).sort()).toEqual(['alt', 'answers', 'cond', 'loc', 'loc_ans', 'pred', 'rephrase', 'src', 'subject'].sort());
      for (const k of ['subject', 'src', 'pred', 'rephrase', 'alt', 'loc', 'loc_ans', 'cond']) expect(typeof rec[k]).toBe('string');
      expect(Array.isArray(rec['answers'])).toBe(true);
      expect(rec['alt']).not.toBe(rec['pred']);
      expect(String(rec['src'])).toContain(String(rec['subject']));
      expect(String(rec['rephrase'])).toContain(String(rec['subject']));
    }
  });

  it('benchmark edits: src in the corpus, rephrase held out, alt from the same relation, locality about other subjects', () => {
    const lines = new Set(gen.corpus);
    const rels = new Map(gen.relations.map((r) => [r.id, r]));
    const objects = new Map<string, Set<string>>();
    for (const f of gen.facts) {
      if (!objects.has(f.relation)) objects.set(f.relation, new Set());
      objects.get(f.relation)?.add(f.object);
    }
    const editKeys = new Set(gen.benchmark.facts.map((f) => `${f.relation}\u0000${f.subject}`));
    expect(editKeys.size).toBe(gen.benchmark.facts.length);
    const promptFacts = promptIndex();
    gen.benchmark.zsre.forEach((z, i) => {
      const f = gen.benchmark.facts[i];
      if (!f) throw new Error('missing fact');
      const r = rels.get(f.relation);
      if (!r) throw new Error(f.relation);
      expect(f.pool).toBe('benchmark');
      expect(lines.has(factSentence(z.src, z.pred))).toBe(true);
      expect(lines.has(factSentence(z.loc, z.loc_ans))).toBe(true);
      expect(heldOutTemplates(r).map((t) => fillTemplate(t.text, f.subject))).toContain(z.rephrase);
      expect(lines.has(factSentence(z.rephrase, z.pred))).toBe(false);
      expect(objects.get(f.relation)?.has(z.alt)).toBe(true);
      for (const lf of promptFacts.get(z.loc) ?? []) expect(lf.pool).toBe('locality');
      expect(promptFacts.get(z.loc)?.length).toBeGreaterThan(0);
      const cf = gen.benchmark.counterfact[i];
      if (!cf) throw new Error('missing counterfact record');
      expect(cf.case_id).toBe(i);
      expect(fillTemplate(cf.requested_rewrite.prompt, cf.requested_rewrite.subject)).toBe(z.src);
      expect(cf.requested_rewrite.target_new.str).toBe(z.alt);
      expect(cf.requested_rewrite.target_true.str).toBe(z.pred);
      expect(cf.paraphrase_prompts).toContain(z.rephrase);
      expect(cf.neighborhood_prompts.length).toBeGreaterThan(0);
      expect(cf.neighborhood_answers).toHaveLength(cf.neighborhood_prompts.length);
      cf.neighborhood_prompts.forEach((p, j) => {
        expect(lines.has(factSentence(p, cf.neighborhood_answers[j] as string))).toBe(true);
        const nf = promptFacts.get(p) ?? [];
        expect(nf.length).toBeGreaterThan(0);
        for (const x of nf) {
          expect(x.pool).toBe('locality');
          expect(x.relation).toBe(f.relation);
        }
      });
    });
    // every relation is represented
    expect(new Set(gen.benchmark.facts.map((f) => f.relation)).size).toBe(gen.relations.length);
  });

  it('pools are disjoint by subject: no benchmark subject in the train split or in any locality probe', () => {
    const poolOf = new Map<string, string>();
    for (const f of gen.facts) {
      const p = poolOf.get(f.subject);
      if (p !== undefined) expect(p).toBe(f.pool);
      poolOf.set(f.subject, f.pool);
    }
    for (const f of gen.train.facts) expect(f.pool).toBe('train');
    const trainLocs = new Set(gen.train.zsre.map((z) => z.loc));
    const benchLocs = new Set(gen.benchmark.zsre.map((z) => z.loc));
    for (const l of trainLocs) expect(benchLocs.has(l)).toBe(false);
    const lines = new Set(gen.corpus);
    const promptFacts = promptIndex();
    gen.train.zsre.forEach((z, i) => {
      expect(lines.has(factSentence(z.loc, z.loc_ans))).toBe(true);
      const lf = promptFacts.get(z.loc) ?? [];
      expect(lf.length).toBeGreaterThan(0);
      for (const x of lf) {
        expect(x.pool).toBe('train');
        expect(x.subject).not.toBe(gen.train.facts[i]?.subject);
      }
    });
  });
});
