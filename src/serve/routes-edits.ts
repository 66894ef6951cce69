/**
 * Edit management, under /wise (not /v1); every route needs `Authorization: Bearer <token>`.
 *
 *   POST   /wise/edits[?wait=true]  body: an EditRequest (src/edits/request.ts). Queues it:
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
import { validateEditRequest } from '../edits/request.js';
import type { EditSummary, ModelService } from './service.js';
import { ApiError } from './errors.js';
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

export function registerEditRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const onRequest = bearerAuth(ctx.token);

  app.post<{ Body: Record<string, unknown>; Querystring: { wait?: string } }>(
    '/wise/edits',
    { onRequest, schema: { body: editBodySchema, querystring: waitQuerySchema } },
    async (req, reply) => {
      const service = ctx.ready();
      const edit = validateEditRequest(req.body, 'body');
      for (const field of ['prompt', 'target'] as const) {
        const n = service.encode(edit[field]).length;
        if (n > ctx.maxPromptTokens) {
          throw new ApiError(400, 'context_length_exceeded', `${field} has ${n} tokens; this server accepts at most ${ctx.maxPromptTokens}`, field);
        }
      }
      const job = ctx.jobs.enqueue('edit', edit, async () => editView(await service.applyEdit(edit)));
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
