/**
 * POST /v1/embeddings (OpenAI's, as vLLM and llama.cpp's servers have it): one vector per input
 * from the served model, edits included: each input is routed as a prompt is (the WISE router
 * decides per input whether a side memory answers), and `wise.memories` says which did.
 *
 *   model            string, required (the current id or the bare base name, as on the other routes)
 *   input            a string, an array of strings, a token-id array, or an array of token-id arrays
 *                    (at most MAX_EMBED_INPUTS; each within the model's context)
 *   encoding_format  "float" (default) or "base64" (the float32 little-endian bytes, as OpenAI's)
 *   pooling          "mean" (default) or "last" (vLLM's pooling names; an extension); "none" (one vector per
 *                    token) is a 400, as llama.cpp refuses it here: POST /embedding returns those
 *   normalize        boolean, default true (unit vectors, as OpenAI's; an extension)
 *   dimensions       refused (400 unsupported_field): the model's embeddings are not truncatable
 *
 * The vector is the last hidden state (after the final norm) pooled over the input's tokens
 * (src/model/pooling.ts): a decoder-only language model's representation, not a model trained for
 * retrieval, so similarities are only as good as the base model's states.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, badValue } from './errors.js';
import { bearerAuth, modelId, type ServeContext } from './context.js';
import { checkModel } from './routes-openai.js';
import { parsePrompts } from './prompts.js';
import { promptSchema } from './schemas.js';
import { POOLINGS, type Pooling } from '../model/pooling.js';
import type { EmbedOptions, EmbedResult, ModelService, PromptInput } from './service.js';

/** Inputs per request (OpenAI takes 2048; the server embeds them 16 to a pass). */
export const MAX_EMBED_INPUTS = 256;

interface EmbeddingsBody {
  model: string;
  input: string | unknown[];
  encoding_format?: 'float' | 'base64' | null;
  pooling?: Pooling | null;
  normalize?: boolean | null;
  dimensions?: number | null;
}

const bodySchema = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string' },
    input: promptSchema,
    encoding_format: { type: ['string', 'null'], enum: ['float', 'base64', null] },
    pooling: { type: ['string', 'null'], enum: [...POOLINGS, null] },
    normalize: { type: ['boolean', 'null'] },
    dimensions: { type: ['integer', 'null'], minimum: 1 },
  },
};

/**
 * The service's embeddings of `inputs` (a 400 naming `field` when it has none): /v1/embeddings and
 * llama.cpp's /embedding both embed through here, so the two give the same vectors.
 */
export async function embedInputs(service: ModelService, inputs: readonly PromptInput[], o: EmbedOptions, field: string): Promise<EmbedResult[]> {
  if (!service.embed) throw new ApiError(400, 'unsupported_field', 'this server has no embeddings for its model', field);
  return service.embed(inputs, o);
}

const base64 = (v: Float32Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'); // little-endian on every platform Node runs on here

export function registerEmbeddingRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const auth = ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {};
  app.post<{ Body: EmbeddingsBody }>('/v1/embeddings', { ...auth, schema: { body: bodySchema } }, async (req) => {
    const service = ctx.ready();
    const body = req.body;
    checkModel(service, body.model);
    if (body.dimensions != null) throw new ApiError(400, 'unsupported_field', 'dimensions: not supported (the embedding is the model hidden size; leave it out)', 'dimensions');
    if (body.pooling === 'none') throw badValue('pooling', "'none' gives one vector per token, which OpenAI's form cannot carry (llama.cpp refuses it here too); POST /embedding returns them");
    const inputs = parsePrompts(body.input, service.vocabSize, 'input', MAX_EMBED_INPUTS);
    // an empty string never gets here: the schema's minLength refuses it, naming input or input[i]
    const rs = await embedInputs(service, inputs, { pooling: body.pooling ?? 'mean', normalize: body.normalize ?? true }, 'input');
    const tokens = rs.reduce((s, r) => s + r.tokens, 0);
    return {
      object: 'list',
      data: rs.map((r, index) => ({ object: 'embedding', index, embedding: body.encoding_format === 'base64' ? base64(r.vector) : Array.from(r.vector) })),
      model: modelId(service.baseName, rs[0]?.editSeq ?? service.editSeq()),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
      wise: { memories: rs.map((r) => r.memory), edit_seq: rs[0]?.editSeq ?? service.editSeq() },
    };
  });
}
