/**
 * Edit management, under /wise (not /v1); every route needs `Authorization: Bearer <token>`.
 *
 *   POST   /wise/edits[?wait=true]  body: an EditRequest (src/edits/request.ts), or an array of up to 256
 *                                   applied in order as one job (each its own commit; the first failure
 *                                   stops the rest, and its error says how many were applied). Queues it:
 *                                   202 {job} with Location /wise/jobs/ID; with wait=true, blocks
 *                                   until applied: 200 {job} (or the job's error status, {error, job})
 *   GET    /wise/jobs/ID            the job: status queued|running|done|failed, result, error
 *   GET    /wise/edits              {object:'list', data:[edit]}
 *   GET    /wise/edits/ID           one edit
 *   DELETE /wise/edits/ID           reverts it (queued behind pending writes): 200 {edit, job}
 *   POST   /wise/merge              merges pending shards now (queued): 200 {job}
 *   POST   /wise/backup             body {dir}: a consistent copy of the store into dir (absolute, new or
 *                                   empty), queued behind pending writes so none interleaves: 200 {job}
 *
 * Edit ids are non-negative decimal integers; anything else is 400 invalid_id.
 */
import * as path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { validateEditRequest, type EditRequest } from '../edits/request.js';
import type { EditSummary, ModelService } from './service.js';
import { ApiError, toApiError } from './errors.js';
import { bearerAuth, type ServeContext } from './context.js';
import { jobView, type Job } from './jobs.js';
import { backupBodySchema, editBodySchema, waitQuerySchema } from './schemas.js';

export function editView(e: EditSummary): Record<string, unknown> {
  return {
    id: e.id,
    object: 'wise.edit',
    prompt: e.prompt,
    target: e.target,
    status: e.status,
    shard_id: e.shardId,
    created_at: e.createdAt,
  };
}

/** Parses an edit id path segment; throws 400 invalid_id. */
export function parseEditId(raw: string): number {
  if (!/^(0|[1-9]\d{0,14})$/.test(raw)) {
    throw new ApiError(400, 'invalid_id', `edit id "${raw}" is not a non-negative integer`, 'id');
  }
  return Number(raw);
}

async function findEdit(service: ModelService, id: number): Promise<EditSummary> {
  const e = await service.getEdit(id);
  if (!e) throw new ApiError(404, 'not_found', `no edit with id ${id}`, 'id');
  return e;
}

/** Answers with a finished job: 200 when done, else its error status with the envelope. */
function sendFinished(reply: FastifyReply, job: Job, extra: Record<string, unknown> = {}): Record<string, unknown> {
  if (job.status === 'done') {
    void reply.code(200);
    return { ...extra, job: jobView(job) };
  }
  void reply.code(job.errorStatus ?? 500);
  return { error: job.error, job: jobView(job) };
}

/** Applies `edits` one after another; the first failure stops the rest, its error saying which edit and how many were applied. */
async function applyInOrder(service: ModelService, edits: readonly EditRequest[]): Promise<Record<string, unknown>[]> {
  const done: Record<string, unknown>[] = [];
  for (const [i, e] of edits.entries()) {
    try {
      done.push(editView(await service.applyEdit(e)));
    } catch (err) {
      const api = toApiError(err);
      const ids = done.map((d) => d.id).join(', ');
      throw new ApiError(api.status, api.code, `edit [${i}] of ${edits.length} failed: ${api.message}; ${done.length} applied before it${done.length ? ` (ids ${ids})` : ''}, none after`, api.param === null ? `[${i}]` : `[${i}].${api.param}`, api.type);
    }
  }
  return done;
}

export function registerEditRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const onRequest = bearerAuth(ctx.token);

  app.post<{ Body: Record<string, unknown> | Record<string, unknown>[]; Querystring: { wait?: string } }>(
    '/wise/edits',
    { onRequest, schema: { body: editBodySchema, querystring: waitQuerySchema } },
    async (req, reply) => {
      const service = ctx.ready();
      const batch = Array.isArray(req.body);
      // every edit is checked before the job is queued: a bad one applies none
      const edits = (batch ? (req.body as Record<string, unknown>[]) : [req.body as Record<string, unknown>]).map((body, i) => {
        const at = batch ? `[${i}]` : '';
        const edit = validateEditRequest(body, batch ? `body${at}` : 'body');
        for (const field of ['prompt', 'target'] as const) {
          const n = service.encode(edit[field]).length;
          const name = batch ? `${at}.${field}` : field;
          if (n > ctx.maxPromptTokens) throw new ApiError(400, 'context_length_exceeded', `${name} has ${n} tokens; this server accepts at most ${ctx.maxPromptTokens}`, name);
        }
        return edit;
      });
      const job = batch
        ? ctx.jobs.enqueue('edit', edits, async () => ({ object: 'list', data: await applyInOrder(service, edits) }))
        : ctx.jobs.enqueue('edit', edits[0], async () => editView(await service.applyEdit(edits[0]!)));
      const wait = req.query.wait === 'true' || req.query.wait === '1';
      if (!wait) {
        void reply.code(202).header('location', `/wise/jobs/${job.id}`);
        return { job: jobView(job) };
      }
      return sendFinished(reply, (await ctx.jobs.wait(job.id)) ?? job);
    },
  );

  app.get<{ Params: { id: string } }>('/wise/jobs/:id', { onRequest }, async (req) => {
    const job = ctx.jobs.get(req.params.id);
    if (!job) throw new ApiError(404, 'not_found', `no job with id "${req.params.id}"`, 'id');
    return { job: jobView(job) };
  });

  app.get('/wise/edits', { onRequest }, async () => {
    const edits = await ctx.ready().listEdits();
    return { object: 'list', data: edits.map(editView) };
  });

  app.get<{ Params: { id: string } }>('/wise/edits/:id', { onRequest }, async (req) => {
    const id = parseEditId(req.params.id);
    return editView(await findEdit(ctx.ready(), id));
  });

  app.delete<{ Params: { id: string } }>('/wise/edits/:id', { onRequest }, async (req, reply) => {
    const service = ctx.ready();
    const id = parseEditId(req.params.id);
    const before = await findEdit(service, id);
    if (before.status === 'reverted') throw new ApiError(409, 'already_reverted', `edit ${id} is already reverted`, 'id');
    const job = ctx.jobs.enqueue('revert', { id }, async () => {
      // re-checked inside the queue: another revert of the same id may have run meanwhile
      if ((await findEdit(service, id)).status === 'reverted') throw new ApiError(409, 'already_reverted', `edit ${id} is already reverted`, 'id');
      return editView(await service.revertEdit(id));
    });
    const done = (await ctx.jobs.wait(job.id)) ?? job;
    return sendFinished(reply, done, done.status === 'done' ? { edit: done.result } : {});
  });

  app.post('/wise/merge', { onRequest }, async (_req, reply) => {
    const service = ctx.ready();
    const job = ctx.jobs.enqueue('merge', null, () => service.mergeNow());
    return sendFinished(reply, (await ctx.jobs.wait(job.id)) ?? job);
  });

  // The store is held by the server, so `wise db backup` cannot open it: the server copies it itself.
  app.post<{ Body: { dir: string } }>('/wise/backup', { onRequest, schema: { body: backupBodySchema } }, async (req, reply) => {
    const service = ctx.ready();
    const dir = req.body.dir;
    if (!path.isAbsolute(dir)) throw new ApiError(400, 'invalid_value', `dir: must be an absolute path on the server (got "${dir}")`, 'dir');
    const job = ctx.jobs.enqueue('backup', { dir }, () => service.backup(dir));
    return sendFinished(reply, (await ctx.jobs.wait(job.id)) ?? job);
  });
}
