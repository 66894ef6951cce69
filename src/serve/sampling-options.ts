/**
 * An OpenAI-style request body's sampling fields → GenerateOptions: temperature, top_p, vLLM's top_k, min_p,
 * penalties, logit_bias, stop strings and stop token ids, min_tokens, ignore_eos, skip_special_tokens, the seed (drawn when absent)
 * and structured output (structured.ts). What the schema cannot check (ids against the vocabulary, min_tokens
 * against max_tokens) is a 400 naming the field. Pure but for the drawn seed.
 */
import { randomInt } from 'node:crypto';
import type { GenerateOptions } from './service.js';
import type { SamplingBody } from './schemas.js';
import { structuredOutput } from './structured.js';
import { ApiError } from './errors.js';
import { shapes, type LogitShaping } from '../model/logit-shaping.js';

/** OpenAI's `logit_bias` ({"50256": -100}) as token id → bias; a key that is not a token id of this model is a 400. */
function logitBias(body: SamplingBody, vocabSize: number): Map<number, number> | undefined {
  if (body.logit_bias == null) return undefined;
  const bias = new Map<number, number>();
  for (const [k, v] of Object.entries(body.logit_bias)) {
    const id = /^(0|[1-9]\d{0,15})$/.test(k) ? Number(k) : NaN;
    if (!(id < vocabSize)) throw new ApiError(400, 'invalid_value', `logit_bias: "${k}" is not a token id of this model [0, ${vocabSize})`, 'logit_bias');
    bias.set(id, v);
  }
  return bias.size > 0 ? bias : undefined;
}

/** vLLM's stop_token_ids, ignore_eos and min_tokens, checked against the vocabulary and max_tokens. */
function stopTokens(body: SamplingBody, maxTokens: number, vocabSize: number): Partial<GenerateOptions> {
  const ids = body.stop_token_ids ?? [];
  ids.forEach((id, i) => {
    if (id >= vocabSize) throw new ApiError(400, 'invalid_value', `stop_token_ids[${i}]: token id ${id} is outside the vocabulary [0, ${vocabSize})`, `stop_token_ids[${i}]`);
  });
  const min = body.min_tokens ?? 0;
  if (min > maxTokens) throw new ApiError(400, 'invalid_value', `min_tokens: ${min} is more than max_tokens (${maxTokens})`, 'min_tokens');
  return { ...(ids.length > 0 ? { stopTokenIds: ids } : {}), ...(body.ignore_eos ? { ignoreEos: true } : {}), ...(min > 0 ? { minTokens: min } : {}) };
}

export function samplingOptions(body: SamplingBody, maxTokens: number, vocabSize: number): GenerateOptions {
  const structured = structuredOutput(body as unknown as Record<string, unknown>);
  const stop = body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const shaping: LogitShaping = {
    ...(body.logit_bias != null ? { logitBias: logitBias(body, vocabSize) } : {}),
    repetitionPenalty: body.repetition_penalty ?? 1,
    frequencyPenalty: body.frequency_penalty ?? 0,
    presencePenalty: body.presence_penalty ?? 0,
  };
  return {
    maxTokens,
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    topK: Math.max(0, body.top_k ?? 0), // -1 = all, as vLLM
    minP: body.min_p ?? 0,
    ...(shapes(shaping) ? { shaping } : {}),
    ...stopTokens(body, maxTokens, vocabSize),
    ...(structured ? { structured } : {}),
    // no seed: a fresh one per request (OpenAI, vLLM and llama.cpp sample differently each time), reported in wise.seed
    seed: body.seed ?? randomInt(0, 2 ** 32),
    stop: stop && stop.length > 0 ? stop : undefined,
    ...(body.skip_special_tokens === false ? { skipSpecialTokens: false } : {}),
  };
}
