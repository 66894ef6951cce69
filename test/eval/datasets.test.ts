/**
 * Dataset loaders: the real shared files (counts and first records), synthetic files for the formats
 * the shared folder does not hold (ROME CounterFact, hallucination, temporal), and malformed records
 * in every format (WISE_DATASET naming file, record index and field).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFormat, loadDataset, loadTrainSplit, sampleRecords, type DatasetKind } from '../../src/eval/datasets.js';
import { isWiseError, WiseError } from '../../src/util/errors.js';
import { describeShared, sharedPath } from '../helpers/shared.js';

const ZSRE_EVAL = 'data/zsre/zsre_mend_eval_portability_gpt4.json';
const ZSRE_TRAIN = 'data/zsre/zsre_mend_train-1k.json';
const CF_FLAT = 'data/counterfact-easyedit/counterfact-val.json';

describeShared(
  'eval datasets: shared files',
  () => {
    it('loads the ZsRE eval split: 1037 records with portability, loc keeps "nq question: "', () => {
      const ds = loadDataset(sharedPath(ZSRE_EVAL));
      expect(ds.kind).toBe('zsre');
      expect(ds.total).toBe(1037);
      expect(ds.records).toHaveLength(1037);
      expect(ds.skipped).toEqual([]);
      const r = ds.records[0]!;
      expect(r).toMatchObject({
        id: 'zsre:0',
        kind: 'zsre',
        prompt: 'When was the inception of IAAF Combined Events Challenge?',
        target: '2006',
        subject: 'IAAF Combined Events Challenge',
        groundTruth: '2011',
        rephrase: 'When was the IAAF Combined Events Challenge launched?',
        locality: { prompt: 'nq question: what is the name of the last episode of spongebob', answer: 'The String' },
      });
      expect(r.portability).toEqual([
        { prompt: 'What type of sports event is the IAAF Combined Events Challenge, which was established in 2006?', answer: 'Athletics' },
      ]);
      expect(ds.records.every((x) => x.locality!.prompt.startsWith('nq question: '))).toBe(true);
    });

    it('ZsRE train split: 1000 irrelevant samples "loc loc_ans"; as an edit set 2 empty-alt records are skipped and counted', () => {
      const irr = loadTrainSplit(sharedPath(ZSRE_TRAIN));
      expect(irr).toHaveLength(1000);
      expect(irr[0]).toBe("nq question: john goodman's character in the big lebowski Walter Sobchak");
      const ds = loadDataset(sharedPath(ZSRE_TRAIN));
      expect(ds.total).toBe(1000);
      expect(ds.skipped).toHaveLength(2);
      expect(ds.records).toHaveLength(998);
      expect(ds.records.every((r) => r.portability === undefined && r.target !== '')).toBe(true);
      expect(loadDataset(sharedPath(ZSRE_TRAIN), { limit: 10 }).records).toHaveLength(10);
    });

    it('loads EasyEdit flat CounterFact: 1919 records; irrelevant = locality_prompt + " " + locality_ground_truth', () => {
      const ds = loadDataset(sharedPath(CF_FLAT));
      expect(ds.kind).toBe('counterfact-flat');
      expect(ds.records).toHaveLength(1919);
      expect(ds.records[0]).toEqual({
        id: 'counterfact:10',
        kind: 'counterfact-flat',
        prompt: 'BBC One, by',
        target: 'Sega',
        subject: 'BBC One',
        groundTruth: 'BBC',
        rephrase: 'BBC One is my favorite product out of everything owned by',
        locality: { prompt: 'BBC Radio, by', answer: 'BBC' },
      });
      expect(loadTrainSplit(sharedPath(CF_FLAT))[0]).toBe('BBC Radio, by BBC');
      expect(loadDataset(sharedPath(CF_FLAT), { format: 'counterfact-flat' }).records).toHaveLength(1919);
    });
  },
  [ZSRE_EVAL, ZSRE_TRAIN, CF_FLAT],
);

// ---- synthetic files -------------------------------------------------------------------------

const dir = mkdtempSync(path.join(tmpdir(), 'wise-eval-ds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function writeJson(rows: unknown): string {
  const f = path.join(dir, `f${fileNo++}.json`);
  writeFileSync(f, JSON.stringify(rows));
  return f;
}

const zsre = { subject: 'S', src: 'Who made S?', pred: 'A', rephrase: 'S was made by whom?', alt: 'B', answers: ['A'], loc: 'nq question: q?', loc_ans: 'x', cond: '' };
const rome = {
  case_id: 7,
  requested_rewrite: { prompt: 'The mother tongue of {} is', relation_id: 'P103', subject: 'Danielle Darrieux', target_new: { str: 'English', id: 'Q1860' }, target_true: { str: 'French', id: 'Q150' } },
  paraphrase_prompts: ['Danielle Darrieux spoke', 'x'],
  neighborhood_prompts: ['The mother tongue of Léon Blum is', 'y'],
  attribute_prompts: [],
  generation_prompts: [],
};
const flat = { prompt: 'P', subject: 'S', target_new: 'T', ground_truth: 'G', rephrase_prompt: 'R', locality_prompt: 'L', locality_ground_truth: 'LA' };
const hallu = { prompt: 'This is a Wikipedia passage about X.', target_new: 'X was born in 1900.', subject: 'X', locality_prompt: 'Some text', locality_ground_truth: 'more text' };
const temporal = { ...hallu, ood_rephrase: 'X, born in 1900, was a painter.' };

// KnowEdit (EasyEdit examples/KnowEdit.md): wiki_recent with alias lists, wiki_counterfact with strings, WikiBio
const recent = {
  subject: 'Leo Arons',
  prompt: 'The place of death of Leo Arons is',
  target_new: 'Berlin',
  portability: {
    Logical_Generalization: [{ prompt: 'Is Leo Arons still alive?', ground_truth: [['no'], ['incorrect']] }],
    Reasoning: [
      { prompt: 'The continent of the place of death of Leo Arons is', ground_truth: [['Europe', 'European continent']] },
      { prompt: 'A blank answer is left out', ground_truth: [[' ']] },
    ],
    Subject_Aliasing: [{ prompt: 'The place of death of Martin Leo Arons is', ground_truth: [['Berlin', 'DE-BE']] }],
  },
  locality: { Relation_Specificity: [{ prompt: 'The father of Leo Arons is', ground_truth: [['Albert Arons']] }, { prompt: 'The field of work of Leo Arons is', ground_truth: [['physics']] }] },
};
const wikiCf = {
  subject: 'Frederic Piesch',
  prompt: 'The position held by Frederic Piesch is',
  target_new: 'Archbishop of León',
  ground_truth: 'mayor of Vienna',
  rephrase_prompt: 'Frederic Piesch held the position of',
  portability: { Subject_Aliasing: [{ prompt: 'The position held by Frederic of Pieschen is', ground_truth: 'Archbishop of León' }] },
  locality: { Relation_Specificity: [{ prompt: 'The gender of Frederic Piesch is', ground_truth: 'male' }], Forgetfulness: [{ prompt: 'The position held by Frederic Piesch, which is not Archbishop of León, is', ground_truth: 'mayor of Vienna' }] },
};
const wikibio = { text: 'This is a Wikipedia passage about john reynolds.', labels: 'He was educated in London.', concept: 'john reynolds', locality: { Relation_Specificity: [{ prompt: 'The field of work of john reynolds is', ground_truth: ['medicine'] }] } };

describe('eval datasets: formats', () => {
  it('detects each format from the first record', () => {
    expect(detectFormat(zsre)).toBe('zsre');
    expect(detectFormat(rome)).toBe('counterfact');
    expect(detectFormat(flat)).toBe('counterfact-flat');
    expect(detectFormat(hallu)).toBe('hallucination');
    expect(detectFormat(temporal)).toBe('temporal');
    expect(detectFormat({ foo: 1 })).toBeNull();
    // KnowEdit's ZsRE and counterfact carry rephrase_prompt / ground_truth too: their question objects decide
    for (const r of [recent, wikiCf, wikibio]) expect(detectFormat(r)).toBe('knowedit');
  });

  it('maps KnowEdit: first alias as the answer, blank answers left out, every locality question kept; WikiBio text → labels', () => {
    const ds = loadDataset(writeJson([recent, wikiCf, wikibio]));
    expect([ds.kind, ds.records.length]).toEqual(['knowedit', 3]);
    const [r, c, b] = ds.records;
    expect(r).toEqual({
      id: 'knowedit:0',
      kind: 'knowedit',
      prompt: 'The place of death of Leo Arons is',
      target: 'Berlin',
      subject: 'Leo Arons',
      portability: [
        { prompt: 'The continent of the place of death of Leo Arons is', answer: 'Europe', key: 'reasoning' },
        { prompt: 'The place of death of Martin Leo Arons is', answer: 'Berlin', key: 'Subject_Aliasing' },
        { prompt: 'Is Leo Arons still alive?', answer: 'no', key: 'Logical_Generalization' },
      ],
      locality: { prompt: 'The father of Leo Arons is', answer: 'Albert Arons', key: 'Relation_Specificity' },
      localities: [
        { prompt: 'The father of Leo Arons is', answer: 'Albert Arons', key: 'Relation_Specificity' },
        { prompt: 'The field of work of Leo Arons is', answer: 'physics', key: 'Relation_Specificity' },
      ],
    });
    expect([c!.groundTruth, c!.rephrase, c!.localities!.map((l) => l.answer)]).toEqual(['mayor of Vienna', 'Frederic Piesch held the position of', ['male', 'mayor of Vienna']]);
    expect([b!.prompt, b!.target, b!.subject, b!.locality]).toEqual([wikibio.text, wikibio.labels, 'john reynolds', { prompt: 'The field of work of john reynolds is', answer: 'medicine', key: 'Relation_Specificity' }]);
    // irrelevant samples: each record's first locality question with its answer
    expect(loadTrainSplit(writeJson([recent, wikiCf, { ...wikiCf, locality: {} }]))).toEqual(['The father of Leo Arons is Albert Arons', 'The gender of Frederic Piesch is male']);
  });

  it('maps ROME CounterFact: prompt fills "{}", first paraphrase/neighborhood prompt, target_true as locality answer', () => {
    const ds = loadDataset(writeJson([rome]));
    expect(ds.records[0]).toEqual({
      id: 'counterfact:7',
      kind: 'counterfact',
      prompt: 'The mother tongue of Danielle Darrieux is',
      target: 'English',
      subject: 'Danielle Darrieux',
      groundTruth: 'French',
      rephrase: 'Danielle Darrieux spoke',
      locality: { prompt: 'The mother tongue of Léon Blum is', answer: 'French' },
    });
    expect(loadTrainSplit(writeJson([rome]))).toEqual(['The mother tongue of Léon Blum is French']);
  });

  it('maps hallucination and temporal records', () => {
    const h = loadDataset(writeJson([hallu, hallu]));
    expect(h.kind).toBe('hallucination');
    expect(h.records[1]).toEqual({
      id: 'hallucination:1',
      kind: 'hallucination',
      prompt: hallu.prompt,
      target: hallu.target_new,
      subject: 'X',
      locality: { prompt: 'Some text', answer: 'more text' },
    });
    const t = loadDataset(writeJson([temporal]));
    expect(t.records[0]).toMatchObject({ kind: 'temporal', oodRephrase: temporal.ood_rephrase, target: temporal.target_new });
    expect(loadTrainSplit(writeJson([temporal]))).toEqual(['Some text more text']);
  });

  it('sampleRecords: seeded, reproducible subsets', () => {
    const recs = loadDataset(writeJson(Array.from({ length: 20 }, () => zsre))).records;
    const a = sampleRecords(recs, 5, 42).map((r) => r.id);
    expect(a).toHaveLength(5);
    expect(new Set(a).size).toBe(5);
    expect(sampleRecords(recs, 5, 42).map((r) => r.id)).toEqual(a);
    expect(sampleRecords(recs, 5, 43).map((r) => r.id)).not.toEqual(a);
    expect(sampleRecords(recs, 50, 1)).toHaveLength(20);
  });

  it('a named format overrides detection (and then requires its fields)', () => {
    expect(loadDataset(writeJson([temporal]), { format: 'hallucination' }).records[0]!.kind).toBe('hallucination');
    expectDatasetError(() => loadDataset(writeJson([hallu]), { format: 'temporal' }), 0, 'ood_rephrase');
  });

  it('file-level errors: missing file, bad JSON, not an array, undetectable format', () => {
    expect(() => loadDataset(path.join(dir, 'nope.json'))).toThrow(expect.objectContaining({ code: 'WISE_FILE_NOT_FOUND' }));
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '[{');
    expect(() => loadDataset(bad)).toThrow(expect.objectContaining({ code: 'WISE_DATASET', details: { file: bad } }));
    expect(() => loadDataset(dir)).toThrow(expect.objectContaining({ code: 'WISE_DATASET', message: expect.stringContaining('is a directory') }));
    expectDatasetError(() => loadDataset(writeJson({ a: 1 })), undefined, '(root)');
    expectDatasetError(() => loadDataset(writeJson([{ foo: 1 }])), 0, '(record)');
    expect(() => loadDataset(writeJson([zsre]), { format: 'squad' as DatasetKind })).toThrow(expect.objectContaining({ code: 'WISE_USAGE' }));
  });
});

/** Asserts a WISE_DATASET error whose details name the file, index and field. */
function expectDatasetError(fn: () => unknown, index: number | undefined, field: string, file?: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isWiseError(err, 'WISE_DATASET'), `expected WISE_DATASET, got ${String(err)}`).toBe(true);
  const d = (err as WiseError).details;
  expect(d.field).toBe(field);
  expect(d.index).toBe(index);
  expect(typeof d.file).toBe('string');
  if (file) expect(d.file).toBe(file);
  if (!field.startsWith('(')) expect((err as Error).message).toContain(`"${field}"`);
}

describe('eval datasets: malformed records name file, index and field', () => {
  const bad = <T extends object>(base: T, patch: Record<string, unknown>): T => ({ ...base, ...patch });
  const cases: [string, unknown[], number, string][] = [
    ['zsre: src not a string', [zsre, bad(zsre, { src: 3 })], 1, 'src'],
    ['zsre: missing rephrase', [zsre, zsre, bad(zsre, { rephrase: undefined })], 2, 'rephrase'],
    ['zsre: loc without "nq question: "', [bad(zsre, { loc: 'what is x' })], 0, 'loc'],
    ['zsre: empty loc_ans', [zsre, bad(zsre, { loc_ans: ' ' })], 1, 'loc_ans'],
    ['zsre: portability without New Answer', [zsre, bad(zsre, { portability: { 'New Question': 'q' } })], 1, 'portability.New Answer'],
    ['counterfact: prompt without {}', [rome, { ...rome, requested_rewrite: { ...rome.requested_rewrite, prompt: 'no placeholder' } }], 1, 'requested_rewrite.prompt'],
    ['counterfact: target_new.str missing', [{ ...rome, requested_rewrite: { ...rome.requested_rewrite, target_new: { id: 'Q' } } }], 0, 'requested_rewrite.target_new.str'],
    ['counterfact: empty paraphrase_prompts', [rome, rome, { ...rome, paraphrase_prompts: [] }], 2, 'paraphrase_prompts'],
    ['counterfact-flat: ground_truth missing', [flat, bad(flat, { ground_truth: undefined })], 1, 'ground_truth'],
    ['counterfact-flat: rephrase_prompt not a string', [flat, bad(flat, { rephrase_prompt: ['R'] })], 1, 'rephrase_prompt'],
    ['hallucination: empty target_new', [hallu, hallu, hallu, bad(hallu, { target_new: '' })], 3, 'target_new'],
    ['hallucination: locality_ground_truth missing', [hallu, bad(hallu, { locality_ground_truth: undefined })], 1, 'locality_ground_truth'],
    ['temporal: ood_rephrase not a string', [temporal, bad(temporal, { ood_rephrase: 5 })], 1, 'ood_rephrase'],
    ['temporal: record is not an object', [temporal, 'oops'], 1, '(record)'],
    ['knowedit: target_new missing', [recent, bad(recent, { target_new: undefined })], 1, 'target_new'],
    ['knowedit: a locality question without a prompt', [recent, bad(wikiCf, { locality: { Relation_Specificity: [{ ground_truth: 'x' }] } })], 1, 'locality.Relation_Specificity[0].prompt'],
    ['knowedit: a portability list that is not an array', [bad(recent, { portability: { Reasoning: { prompt: 'p' } } })], 0, 'portability.Reasoning'],
  ];
  for (const [name, rows, index, field] of cases) {
    it(name, () => {
      const f = writeJson(rows);
      expectDatasetError(() => loadDataset(f), index, field, f);
    });
  }

  it('train split errors name the field too', () => {
    const f = writeJson([zsre, bad(zsre, { loc_ans: undefined })]);
    expectDatasetError(() => loadTrainSplit(f), 1, 'loc_ans', f);
  });

  it('ZsRE: an empty alt is skipped and counted, not an error', () => {
    const ds = loadDataset(writeJson([zsre, bad(zsre, { alt: '' }), zsre]));
    expect(ds.records.map((r) => r.id)).toEqual(['zsre:0', 'zsre:2']);
    expect(ds.skipped).toEqual([{ index: 1, reason: 'empty alt' }]);
  });
});
