/**
 * EditRequest: one fact edit, and its validation. Schema (JSON / JSONL lines):
 *   prompt           string, required, non-empty: the text the model completes
 *   target           string, required, non-empty: the new completion (a leading space is added if missing)
 *   rephrase         string, optional: a paraphrase of prompt, for evaluation
 *   locality_prompt  string, optional: an unrelated prompt whose output must not change
 *   locality_answer  string, optional: its answer (together they can serve as the irrelevant sample)
 *   subject          string, optional: the subject inside prompt
 * Unknown fields are errors (they are usually typos of these names).
 */
import { WiseError } from '../util/errors.js';

export interface EditRequest {
  prompt: string;
  target: string;
  rephrase?: string;
  locality_prompt?: string;
  locality_answer?: string;
  subject?: string;
}

const REQUIRED = ['prompt', 'target'] as const;
const OPTIONAL = ['rephrase', 'locality_prompt', 'locality_answer', 'subject'] as const;
const KNOWN = new Set<string>([...REQUIRED, ...OPTIONAL]);

/** Validates an untrusted value; `where` names the source (e.g. "edits.jsonl line 3"). */
export function validateEditRequest(value: unknown, where = 'edit'): EditRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WiseError('WISE_BAD_REQUEST', `${where}: an edit must be a JSON object`, { where });
  }
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (!KNOWN.has(k)) throw new WiseError('WISE_BAD_REQUEST', `${where}: unknown field "${k}"`, { where, field: k });
  }
  for (const k of REQUIRED) {
    if (v[k] === undefined) throw new WiseError('WISE_BAD_REQUEST', `${where}: field "${k}" is missing (an edit needs "prompt" and "target")`, { where, field: k });
    if (typeof v[k] !== 'string') throw new WiseError('WISE_BAD_REQUEST', `${where}: field "${k}" must be a string`, { where, field: k });
    if ((v[k] as string).trim() === '') throw new WiseError('WISE_BAD_REQUEST', `${where}: field "${k}" must not be empty`, { where, field: k });
  }
  for (const k of OPTIONAL) {
    if (v[k] !== undefined && typeof v[k] !== 'string') {
      throw new WiseError('WISE_BAD_REQUEST', `${where}: field "${k}" must be a string`, { where, field: k });
    }
  }
  if ((v.locality_answer !== undefined) !== (v.locality_prompt !== undefined) && v.locality_answer !== undefined) {
    throw new WiseError('WISE_BAD_REQUEST', `${where}: "locality_answer" needs "locality_prompt"`, { where, field: 'locality_prompt' });
  }
  const out: EditRequest = { prompt: v.prompt as string, target: v.target as string };
  for (const k of OPTIONAL) if (typeof v[k] === 'string') out[k] = v[k] as string;
  return out;
}

/** Parses JSONL text; an error names the line. Blank lines are skipped. */
export function parseEditsJsonl(text: string, file = 'edits.jsonl'): EditRequest[] {
  const out: EditRequest[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      throw new WiseError('WISE_BAD_REQUEST', `${file} line ${i + 1}: invalid JSON (${(e as Error).message})`, { file, line: i + 1 });
    }
    try {
      out.push(validateEditRequest(parsed, `${file} line ${i + 1}`));
    } catch (e) {
      if (e instanceof WiseError) e.details.line = i + 1;
      throw e;
    }
  }
  return out;
}
