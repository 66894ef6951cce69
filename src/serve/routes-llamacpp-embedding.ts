/**
 * POST /embedding and POST /embeddings: llama.cpp's native (not OpenAI) embeddings, the same vectors as
 * /v1/embeddings (both embed through `embedInputs`) in llama.cpp's form:
 *
 *   input | content  what to embed (`input` wins when both are given, as in llama.cpp): a text, token ids,
 *                    ids and texts mixed (one input; BOS first when a text leads), or a list of those
 *                    (at most MAX_EMBED_INPUTS); the /completion prompt forms
 *   embd_normalize   integer ≥ −1, default 2: how a pooled vector is scaled (−1 none, 0 max-abs to ±32760,
 *                    1 taxicab, 2 Euclidean, p > 2 p-norm; pooling.ts normalizeEmbedding); per-token vectors never
 *   pooling          "mean" (default), "last" or "none" (an extension: llama.cpp fixes pooling at start,
 *                    --pooling or the model's; "none" is its per-token form)
 *   encoding_format  "float" or "base64", checked and without effect, as llama.cpp's native form is always floats
 *
 * → [{index, embedding: [[…d floats]], wise: {memory, edit_seq}}]: one list entry per input; `embedding` holds
 * the pooled vector, or with pooling "none" every token's vector in order (llama.cpp's shape for both).
 * `wise` says which memory embedded the input (each is routed as a prompt is).
 */
import type { FastifyInstance } from 'fastify';
import { bearerAuth, type ServeContext } from './context.js';
import { ApiError } from './errors.js';
import { embedInputs, MAX_EMBED_INPUTS } from './routes-embeddings.js';
import { llamaPrompts } from './routes-llamacpp.js';
import { normalizeEmbedding, POOLINGS, type Pooling } from '../model/pooling.js';

const inputSchema = { type: ['string', 'array'], minLength: 1, minItems: 1 };
const bodySchema = {
  type: 'object',
  properties: {
    input: inputSchema,
    content: inputSchema,
    embd_normalize: { type: ['integer', 'null'], minimum: -1 },
    pooling: { type: ['string', 'null'], enum: [...POOLINGS, null] },
    encoding_format: { type: ['string', 'null'], enum: ['float', 'base64', null] },
  },
};

interface Body {
  input?: string | unknown[];
  content?: string | unknown[];
  embd_normalize?: number | null;
  pooling?: Pooling | null;
}

/** `flat` (n·d) as n rows of d numbers */
const rows = (flat: Float32Array, n: number): number[][] => {
  const d = flat.length / n;
  return Array.from({ length: n }, (_, t) => Array.from(flat.subarray(t * d, (t + 1) * d)));
};

export function registerLlamaEmbeddingRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const auth = ctx.openaiNeedsToken ? { onRequest: bearerAuth(ctx.token) } : {};
  for (const url of ['/embedding', '/embeddings']) {
    app.post<{ Body: Body }>(url, { ...auth, schema: { body: bodySchema } }, async (req) => {
      const service = ctx.ready();
      const b = req.body;
      const field = b.input != null ? 'input' : 'content';
      const given = b.input ?? b.content;
      if (given == null) throw new ApiError(400, 'missing_field', 'content: is required (or input)', 'content');
      const { prompts } = llamaPrompts(service, given, field, MAX_EMBED_INPUTS);
      const pooling = b.pooling ?? 'mean';
      // pooled unscaled, then scaled here by embd_normalize (2, the default, is what /v1/embeddings' normalize does)
      const rs = await embedInputs(service, prompts, { pooling, normalize: false }, field);
      const norm = b.embd_normalize ?? 2;
      return rs.map((r, index) => ({
        index,
        embedding: pooling === 'none' ? rows(r.vector, r.tokens) : [Array.from(normalizeEmbedding(r.vector, norm))],
        wise: { memory: r.memory, edit_seq: r.editSeq },
      }));
    });
  }
}
