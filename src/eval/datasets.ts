/**
 * Evaluation dataset loaders. Six on-disk formats map to one normalized `EvalRecord`:
 *
 *   zsre              MEND/EasyEdit ZsRE: src, alt, rephrase, subject, loc ("nq question: …"), loc_ans,
 *                     optional portability {"New Question","New Answer"} (or an array of them)
 *   counterfact       ROME: requested_rewrite {prompt with "{}", subject, target_new{str}, target_true{str}},
 *                     paraphrase_prompts[], neighborhood_prompts[] (EasyEdit's conversion takes [0] of each
 *                     and uses target_true as the neighborhood answer)
 *   counterfact-flat  EasyEdit counterfact-*.json: prompt, subject, target_new, ground_truth,
 *                     rephrase_prompt, locality_prompt, locality_ground_truth
 *   hallucination     WISE: prompt, target_new, subject, locality_prompt, locality_ground_truth
 *   temporal          WISE: hallucination's fields + ood_rephrase
 *   knowedit          EasyEdit's KnowEdit benchmark (ZsRE, wiki_recent, wiki_counterfact, WikiBio): prompt, target_new,
 *                     subject, portability {Reasoning, …} and locality {Relation_Specificity, …} question lists (knowedit.ts)
 *
 * EasyEdit conventions kept (wise-reference.md §4): ZsRE records with an empty `alt` are skipped and
 * counted; ZsRE `loc` must carry the "nq question: " prefix, which stays in the locality prompt (the
 * WISE scripts pass `loc` verbatim); portability is optional. Strings are kept verbatim: the metric
 * layer adds the " " between prompt and target, as EasyEdit does.
 *
 * A malformed record raises WiseError WISE_DATASET with details {file, index, field}.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../config/paths.js';
import type { Config } from '../config/schema.js';
import { WiseError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { Fields } from './fields.js';
import { isKnowEdit, knowEditRecord } from './knowedit.js';

export const DATASET_KINDS = ['zsre', 'counterfact', 'counterfact-flat', 'hallucination', 'temporal', 'knowedit'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

export interface PromptAnswer {
  prompt: string;
  answer: string;
  /** The question's type where the format names one (KnowEdit: Reasoning, Forgetfulness, …); scored per type too. */
  key?: string;
}

export interface EvalRecord {
  /** Stable id: `<kind>:<index in file>`, or `counterfact:<case_id>` when the file has case ids. */
  id: string;
  prompt: string;
  /** The new completion (ZsRE `alt`, `target_new`). */
  target: string;
  subject?: string;
  /** The pre-edit answer where the format has one (ZsRE `pred`, CounterFact `target_true`/`ground_truth`). */
  groundTruth?: string;
  rephrase?: string;
  locality?: PromptAnswer;
  /** Every locality question where the format has several (KnowEdit); `locality` is the first. Scored as their mean. */
  localities?: PromptAnswer[];
  portability?: PromptAnswer[];
  /** Temporal only: the out-of-distribution text scored by `ood_acc`. */
  oodRephrase?: string;
  kind: DatasetKind;
}

export interface LoadedDataset {
  file: string;
  kind: DatasetKind;
  records: EvalRecord[];
  /** Records in the file (before skipping). */
  total: number;
  /** Skipped records (ZsRE empty `alt`), by file index. */
  skipped: { index: number; reason: string }[];
}

export interface LoadOptions {
  /** Named format, or 'auto' (default): detected from the first record's fields. */
  format?: DatasetKind | 'auto';
  /** Keep only the first `limit` usable records. */
  limit?: number;
}

type Obj = Record<string, unknown>;

/** Reads a JSON array file; a missing file is WISE_FILE_NOT_FOUND, bad JSON / non-array WISE_DATASET. */
export function readJsonArray(file: string): unknown[] {
  if (!existsSync(file)) throw new WiseError('WISE_FILE_NOT_FOUND', `dataset file not found: ${file}`, { file });
  if (statSync(file).isDirectory()) throw new WiseError('WISE_DATASET', `${file} is a directory; pass the dataset's JSON file`, { file });
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new WiseError('WISE_DATASET', `${file}: invalid JSON (${(e as Error).message})`, { file });
  }
  if (!Array.isArray(parsed)) throw new WiseError('WISE_DATASET', `${file}: expected a JSON array of records`, { file, field: '(root)' });
  return parsed;
}

/** Detects the format from one record's field names; null when nothing matches. */
export function detectFormat(rec: unknown): DatasetKind | null {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return null;
  const has = (k: string): boolean => k in rec;
  if (has('requested_rewrite')) return 'counterfact';
  if (has('src') && has('alt')) return 'zsre';
  if (has('ood_rephrase')) return 'temporal';
  if (isKnowEdit(rec as Obj)) return 'knowedit';
  if (has('rephrase_prompt') || has('ground_truth')) return 'counterfact-flat';
  if (has('prompt') && has('target_new') && has('locality_prompt')) return 'hallucination';
  return null;
}

const NQ_PREFIX = 'nq question: ';

/** ZsRE portability: {"New Question","New Answer"} or an array of them; absent → undefined. */
function zsrePortability(f: Fields): PromptAnswer[] | undefined {
  const v = f.get('portability');
  if (v === undefined) return undefined;
  const items = Array.isArray(v) ? v : [v];
  return items.map((item, i) => {
    const field = Array.isArray(v) ? `portability[${i}]` : 'portability';
    if (typeof item !== 'object' || item === null) f.fail(field, 'must be an object');
    const q = (item as Obj)['New Question'];
    const a = (item as Obj)['New Answer'];
    if (typeof q !== 'string' || q.trim() === '') f.fail(`${field}.New Question`, 'must be a non-empty string');
    if (typeof a !== 'string' || a.trim() === '') f.fail(`${field}.New Answer`, 'must be a non-empty string');
    return { prompt: q, answer: a };
  });
}

/** One record → EvalRecord, or null when EasyEdit skips it. */
function mapRecord(kind: DatasetKind, f: Fields): EvalRecord | null {
  const id = `${kind}:${f.index}`;
  switch (kind) {
    case 'zsre': {
      const alt = f.str('alt', { allowEmpty: true });
      const loc = f.str('loc');
      if (!loc.startsWith(NQ_PREFIX)) f.fail('loc', `must start with "${NQ_PREFIX}" (EasyEdit asserts it)`);
      const rec: EvalRecord = {
        id,
        kind,
        prompt: f.str('src'),
        target: alt,
        subject: f.str('subject'),
        rephrase: f.str('rephrase'),
        locality: { prompt: loc, answer: f.str('loc_ans') },
      };
      const pred = f.get('pred');
      if (typeof pred === 'string') rec.groundTruth = pred;
      const port = zsrePortability(f);
      if (port) rec.portability = port;
      return alt.trim() === '' ? null : rec;
    }
    case 'counterfact': {
      const template = f.str('requested_rewrite.prompt');
      if (!template.includes('{}')) f.fail('requested_rewrite.prompt', 'must contain the "{}" subject placeholder');
      const subject = f.str('requested_rewrite.subject');
      const truth = f.str('requested_rewrite.target_true.str');
      const caseId = f.get('case_id');
      return {
        id: typeof caseId === 'number' || typeof caseId === 'string' ? `counterfact:${caseId}` : id,
        kind,
        prompt: template.replace('{}', subject),
        target: f.str('requested_rewrite.target_new.str'),
        subject,
        groundTruth: truth,
        rephrase: f.firstOf('paraphrase_prompts'),
        locality: { prompt: f.firstOf('neighborhood_prompts'), answer: truth },
      };
    }
    case 'counterfact-flat':
    case 'hallucination':
    case 'temporal': {
      const caseId = f.get('case_id');
      const rec: EvalRecord = {
        id: kind === 'counterfact-flat' && (typeof caseId === 'number' || typeof caseId === 'string') ? `counterfact:${caseId}` : id,
        kind,
        prompt: f.str('prompt'),
        target: f.str('target_new'),
        locality: { prompt: f.str('locality_prompt'), answer: f.str('locality_ground_truth') },
      };
      const subject = kind === 'counterfact-flat' ? f.str('subject') : f.optStr('subject');
      if (subject !== undefined) rec.subject = subject;
      if (kind === 'counterfact-flat') {
        rec.groundTruth = f.str('ground_truth');
        rec.rephrase = f.str('rephrase_prompt');
      }
      if (kind === 'temporal') rec.oodRephrase = f.str('ood_rephrase');
      return rec;
    }
    case 'knowedit':
      return knowEditRecord(f);
  }
}

function asObject(file: string, index: number, rec: unknown): Obj {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
    throw new WiseError('WISE_DATASET', `${file} record ${index}: expected an object`, { file, index, field: '(record)' });
  }
  return rec as Obj;
}

function resolveKind(file: string, rows: unknown[], format: DatasetKind | 'auto'): DatasetKind {
  if (format !== 'auto') {
    if (!(DATASET_KINDS as readonly string[]).includes(format)) {
      throw new WiseError('WISE_USAGE', `unknown dataset format "${format}" (expected ${DATASET_KINDS.join('|')})`, { format });
    }
    return format;
  }
  if (rows.length === 0) throw new WiseError('WISE_DATASET', `${file}: empty file, cannot detect its format`, { file, field: '(root)' });
  const kind = detectFormat(rows[0]);
  if (kind === null) {
    const fields = typeof rows[0] === 'object' && rows[0] !== null ? Object.keys(rows[0]).join(', ') : typeof rows[0];
    throw new WiseError('WISE_DATASET', `${file}: cannot detect the dataset format from record 0's fields (${fields})`, {
      file,
      index: 0,
      field: '(record)',
    });
  }
  return kind;
}

/** Loads an edit/eval file into normalized records. */
export function loadDataset(file: string, opts: LoadOptions = {}): LoadedDataset {
  const rows = readJsonArray(file);
  const kind = resolveKind(file, rows, opts.format ?? 'auto');
  const limit = opts.limit ?? Infinity;
  const out: LoadedDataset = { file, kind, records: [], total: rows.length, skipped: [] };
  for (let i = 0; i < rows.length && out.records.length < limit; i++) {
    const rec = mapRecord(kind, new Fields(file, i, asObject(file, i, rows[i])));
    if (rec === null) out.skipped.push({ index: i, reason: 'empty alt' });
    else out.records.push(rec);
  }
  return out;
}

/**
 * Irrelevant ("loc") samples from a train split, as the WISE scripts build them:
 * ZsRE `loc + " " + loc_ans`; the other formats `locality_prompt + " " + locality_ground_truth`
 * (ROME CounterFact: first neighborhood prompt + " " + target_true; KnowEdit: its first locality question).
 */
export function loadTrainSplit(file: string, opts: LoadOptions = {}): string[] {
  const rows = readJsonArray(file);
  const kind = resolveKind(file, rows, opts.format ?? 'auto');
  const limit = Math.min(rows.length, opts.limit ?? Infinity);
  const out: string[] = [];
  for (let i = 0; i < limit; i++) {
    const f = new Fields(file, i, asObject(file, i, rows[i]));
    if (kind === 'zsre') out.push(`${f.str('loc')} ${f.str('loc_ans')}`);
    else if (kind === 'counterfact') out.push(`${f.firstOf('neighborhood_prompts')} ${f.str('requested_rewrite.target_true.str')}`);
    else if (kind === 'knowedit') {
      const loc = knowEditRecord(f).locality; // a record without a locality question has no sample
      if (loc) out.push(`${loc.prompt} ${loc.answer}`);
    }    else out.push(`${f.str('locality_prompt')} ${f.str('locality_ground_truth')}`);
  }
  return out;
}

/**
 * A seeded random subset of `n` records (all when n ≥ length), in shuffled order: for sampling an
 * evaluation set the way the paper samples 1K of ZsRE's test split. Same seed → same records.
 */
export function sampleRecords(records: readonly EvalRecord[], n: number, seed: number): EvalRecord[] {
  return new Rng(seed).shuffle([...records]).slice(0, Math.max(0, n));
}

/** The irrelevant-sample pool an editor trains against: wise.train_split, or the bundled train split. */
export function irrelevantPool(config: Config): string[] {
  return loadTrainSplit(config.wise.train_split ?? path.join(packageRoot(), 'datasets', 'bundled-train.json'));
}
