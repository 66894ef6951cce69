/**
 * Shared by the route modules: the per-app context, the model id format and bearer auth.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ModelService } from './service.js';
import { ApiError } from './errors.js';
import type { JobQueue } from './jobs.js';
import type { ServeMetrics } from './serve-metrics.js';
import type { ResponsesStore } from './responses-store.js';

/** Per-app state shared by the route modules. */
export interface ServeContext {
  readonly token: string;
  readonly openaiNeedsToken: boolean;
  readonly maxPromptTokens: number;
  readonly maxTokensCap: number;
  readonly jobs: JobQueue;
  /** the service, or a 503 ApiError while it loads (or after it failed to load) */
  ready(): ModelService;
  /** generations in flight; aborted when the app closes */
  readonly active: Set<AbortController>;
  /** what GET /metrics reports (serve-metrics.ts) */
  readonly metrics: ServeMetrics;
  /** the Responses API's kept responses (responses-store.ts) */
  readonly responses: ResponsesStore;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** `base+edits@N` */
export function modelId(baseName: string, editSeq: number): string {
  return `${baseName}+edits@${editSeq}`;
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** An onRequest hook that demands `Authorization: Bearer <token>`. */
export function bearerAuth(token: string) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const h = req.headers.authorization;
    if (h === undefined || h === '') {
      reply.header('www-authenticate', 'Bearer');
      throw new ApiError(401, 'missing_token', 'this route needs an Authorization: Bearer <token> header');
    }
    const m = /^Bearer +(\S+)\s*$/i.exec(h);
    if (!m || !sameSecret(m[1] as string, token)) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw new ApiError(401, 'invalid_token', 'the bearer token is wrong');
    }
  };
}

