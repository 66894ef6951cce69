/**
 * OpenAI completions' `prompt` field, as OpenAI and vLLM take it:
 *   "text"                 one prompt
 *   ["a", "b"]             several prompts (one choice each, `index` in request order)
 *   [15496, 11, 995]       one prompt given as token ids (lm-evaluation-harness sends these)
 *   [[15496], [40, 716]]   several prompts as token ids (strings and id arrays may mix)
 *
 * The schema (schemas.ts) checks the JSON types with paths (`prompt[1][0]` must be an integer
 * ≥ 0); this file checks what a schema cannot say: a top-level array holds ids or prompts, not
 * both; at most MAX_PROMPTS prompts; every id below the model's vocabulary. Pure: no I/O.
 */
import { ApiError } from './errors.js';
import { MAX_CHOICES } from './schemas.js';

/** One prompt: its text, or its token ids. */
export type PromptInput = string | readonly number[];

/** Prompts per request: each gives n choices, and a request gives at most MAX_CHOICES. */
export const MAX_PROMPTS = MAX_CHOICES;

/** The prompt's parameter name in error messages: `prompt` for a single prompt, else `prompt[i]` (`input` on /v1/embeddings). */
export const promptParam = (count: number, i: number, field = 'prompt'): string => (count === 1 ? field : `${field}[${i}]`);

/** Throws 400 invalid_value naming `param[j]` unless every id is below vocabSize (the schema has checked they are integers ≥ 0). */
export function checkIdsBelow(ids: readonly number[], vocabSize: number, param: string): void {
  ids.forEach((id, j) => {
    if (id >= vocabSize) throw new ApiError(400, 'invalid_value', `${param}[${j}]: token id ${id} is outside the vocabulary [0, ${vocabSize})`, `${param}[${j}]`);
  });
}

/** A token-id prompt: at least one id, each below vocabSize. */
function idPrompt(ids: readonly number[], vocabSize: number, param: string): readonly number[] {
  if (ids.length === 0) throw new ApiError(400, 'invalid_value', `${param}: a token-id prompt must hold at least one id`, param);
  checkIdsBelow(ids, vocabSize, param);
  return ids;
}

/**
 * The prompts of a schema-valid `prompt` field. Throws ApiError 400 naming the offending element:
 * a mix of ids and prompts at the top level, too many prompts, an empty id list, an id ≥ vocabSize.
 */
export function parsePrompts(prompt: string | readonly unknown[], vocabSize: number, field = 'prompt', max = MAX_PROMPTS): PromptInput[] {
  if (typeof prompt === 'string') return [prompt];
  const isId = (x: unknown): x is number => typeof x === 'number';
  if (prompt.every(isId)) return [idPrompt(prompt, vocabSize, field)];
  const firstId = prompt.findIndex(isId);
  if (firstId >= 0) {
    throw new ApiError(400, 'invalid_type', `${field}[${firstId}]: a ${field} array holds token ids (one ${field}) or ${field}s (strings or id arrays), not both`, `${field}[${firstId}]`);
  }
  if (prompt.length > max) throw new ApiError(400, 'invalid_value', `${field}: ${prompt.length} ${field}s; at most ${max} per request`, field);
  return prompt.map((p, i) => (typeof p === 'string' ? p : idPrompt(p as number[], vocabSize, `${field}[${i}]`)));
}
