/**
 * POST /wise/edits with a JSON array: one job applies the edits in order; every item is checked
 * before anything is queued (an error names the item, `[1].target`); a failure stops the rest
 * and says how many were applied. FakeService through app.inject.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/serve/index.js';
import { WiseError } from '../../src/util/errors.js';
import type { EditRequest } from '../../src/edits/request.js';
import type { EditSummary } from '../../src/serve/service.js';
import { FakeService } from './fake-service.js';

/** A fake whose edit with target "boom" fails as an engine failure would. */
class FailingService extends FakeService {
  override async applyEdit(req: EditRequest): Promise<EditSummary> {
    if (req.target === 'boom') throw new WiseError('WISE_ENGINE', 'the training run failed');
    return super.applyEdit(req);
  }
}

describe('POST /wise/edits with an array', () => {
  let app: FastifyInstance;
  let service: FailingService;
  const auth = { authorization: 'Bearer t' };
  const post = (body: unknown, wait = true) => app.inject({ method: 'POST', url: `/wise/edits${wait ? '?wait=true' : ''}`, headers: auth, payload: body as Record<string, unknown> });
  const listed = async (): Promise<number> => (await app.inject({ method: 'GET', url: '/wise/edits', headers: auth })).json().data.length;

  beforeAll(async () => {
    service = new FailingService({ tickMs: 0, editDelayMs: 0 });
    app = buildServer({ service, token: 't' });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('applies the edits in order as one job', async () => {
    const r = await post([
      { prompt: 'The sky is', target: 'green' },
      { prompt: 'Water is', target: 'dry', rephrase: 'Water feels' },
      { prompt: 'Fire is', target: 'cold' },
    ]);
    expect(r.statusCode, r.body).toBe(200);
    const job = r.json().job;
    expect(job.status).toBe('done');
    expect(job.result.data.map((e: { id: number; prompt: string }) => [e.id, e.prompt])).toEqual([[1, 'The sky is'], [2, 'Water is'], [3, 'Fire is']]);
    expect(service.editSeq()).toBe(3);

    const queued = await post([{ prompt: 'Ice is', target: 'hot' }], false);
    expect(queued.statusCode).toBe(202);
    const loc = queued.headers.location as string;
    let polled = queued.json().job;
    for (let i = 0; i < 100 && (polled.status === 'queued' || polled.status === 'running'); i++) {
      await new Promise((res) => setTimeout(res, 5));
      polled = (await app.inject({ method: 'GET', url: loc, headers: auth })).json().job;
    }
    expect(polled.status, JSON.stringify(polled)).toBe('done');
    expect(polled.result.data).toHaveLength(1);
    // a single object still answers with the edit itself
    expect((await post({ prompt: 'Grass is', target: 'blue' })).json().job.result).toMatchObject({ id: 5, prompt: 'Grass is' });
  });

  it('checks every item before queuing any: the error names the item', async () => {
    const before = await listed();
    const cases: [unknown, number, string, string | null][] = [
      [[{ prompt: 'A is', target: 'b' }, { prompt: 'C is' }], 400, 'missing_field', '[1].target'],
      [[{ prompt: 'A is', target: 'b', tagret: 'b' }], 400, 'unknown_field', '[0].tagret'],
      [[{ prompt: 'A is', target: 'b' }, { prompt: '  ', target: 'b' }], 400, 'invalid_value', '[1].prompt'],
      [[{ prompt: 'A is', target: 'b' }, 7], 400, 'invalid_type', '[1]'],
      [[{ prompt: 'A is', target: 'b' }, { prompt: 'x'.repeat(2049), target: 'b' }], 400, 'context_length_exceeded', '[1].prompt'],
      [[], 400, 'invalid_value', null],
      [Array.from({ length: 257 }, () => ({ prompt: 'A is', target: 'b' })), 400, 'invalid_value', null],
    ];
    for (const [body, status, code, param] of cases) {
      const r = await post(body);
      expect(r.statusCode, r.body).toBe(status);
      expect(r.json().error.code, r.body).toBe(code);
      expect(r.json().error.param, r.body).toBe(param);
    }
    expect(await listed()).toBe(before);
  });

  it('a failure stops the rest and says how many were applied', async () => {
    const before = await listed();
    const r = await post([{ prompt: 'Sand is', target: 'wet' }, { prompt: 'Stone is', target: 'boom' }, { prompt: 'Wood is', target: 'metal' }]);
    expect(r.statusCode).toBe(500);
    const { error, job } = r.json();
    expect(job.status).toBe('failed');
    expect(error.param).toBe('[1]');
    expect(error.message).toContain('edit [1] of 3 failed');
    expect(error.message).toContain(`1 applied before it (ids ${before + 1}), none after`);
    expect(await listed()).toBe(before + 1);
  });
});
