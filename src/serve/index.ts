/**
 * The server part of `wise serve`. The CLI calls `startServer`; tests call `buildServer`
 * and use `app.inject()` or listen on port 0.
 *
 * Token for the edit routes: `opts.token` (from --token), else env WISE_TOKEN, else a
 * random one generated at start and printed to stderr.
 */
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from './app.js';
import { generateToken } from './context.js';

export { buildServer, DEFAULT_BODY_LIMIT, DEFAULT_MAX_PROMPT_TOKENS, DEFAULT_MAX_TOKENS_CAP, type ServerOptions } from './app.js';
export { modelId, isLoopback, type ServeContext } from './context.js';
export { ApiError, toApiError, type ApiErrorBody } from './errors.js';
export { JobQueue, jobView, type Job, type JobStatus } from './jobs.js';
export type { ModelService, GenerateOptions, GenerateResult, EditSummary, PromptInput } from './service.js';

export interface StartOptions extends Omit<ServerOptions, 'host' | 'token'> {
  /** default 127.0.0.1 */
  host?: string | undefined;
  /** default 8080; 0 picks a free port */
  port?: number | undefined;
  /** from --token; overrides env WISE_TOKEN */
  token?: string | undefined;
  /** where WISE_TOKEN is read; default process.env */
  env?: Record<string, string | undefined> | undefined;
  /** where the URL and a generated token are printed; default process.stderr */
  stderr?: { write(s: string): unknown } | undefined;
}

export interface RunningServer {
  url: string;
  token: string;
  tokenSource: 'flag' | 'env' | 'generated';
  app: FastifyInstance;
  /** stops accepting requests, aborts generations in flight, and closes */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8080;

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const env = opts.env ?? process.env;
  const stderr = opts.stderr ?? process.stderr;
  const host = opts.host ?? '127.0.0.1';
  let token: string;
  let tokenSource: RunningServer['tokenSource'];
  if (opts.token !== undefined && opts.token !== '') [token, tokenSource] = [opts.token, 'flag'];
  else if (env.WISE_TOKEN !== undefined && env.WISE_TOKEN !== '') [token, tokenSource] = [env.WISE_TOKEN, 'env'];
  else [token, tokenSource] = [generateToken(), 'generated'];

  const app = buildServer({ ...opts, host, token });
  await app.listen({ host, port: opts.port ?? DEFAULT_PORT });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? DEFAULT_PORT);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  stderr.write(`wise serve: listening on ${url} (OpenAI API at ${url}/v1, edits at ${url}/wise)\n`);
  if (tokenSource === 'generated') stderr.write(`wise serve: edit-route token (generated): ${token}\n`);
  else stderr.write(`wise serve: edit-route token from ${tokenSource === 'flag' ? '--token' : 'WISE_TOKEN'}\n`);
  return { url, token, tokenSource, app, close: () => app.close() };
}
