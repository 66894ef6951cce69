/**
 * Stream lifecycle and the job queue: a client that goes away aborts its generation; close()
 * aborts streams in flight; a chunked body over the limit is a 413; a service failure is a
 * 500 envelope (or an error event inside a stream); edits run one at a time, in order.
 */
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, buildServer, JobQueue } from '../../src/serve/index.js';
import { WiseError } from '../../src/util/errors.js';
import type { GenerateOptions, GenerateResult, PromptInput } from '../../src/serve/service.js';
import { FakeService } from './fake-service.js';

const quiet = { write: () => true };
const body = (extra: Record<string, unknown> = {}): string => JSON.stringify({ model: 'fake-base', prompt: 'hi', max_tokens: 500, stream: true, ...extra });

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await sleep(5);
}

describe('streams', () => {
  it('aborts the generation when the client disconnects', async () => {
    const service = new FakeService({ tickMs: 5 });
    const s = await startServer({ service, port: 0, stderr: quiet });
    try {
      const ac = new AbortController();
      const r = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(), signal: ac.signal });
      expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = r.body!.getReader();
      await reader.read();
      ac.abort();
      await until(() => service.aborted === 1);
      expect(service.aborted).toBe(1);
      expect((await fetch(`${s.url}/health`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('close() aborts streams in flight', async () => {
    const service = new FakeService({ tickMs: 5 });
    const s = await startServer({ service, port: 0, stderr: quiet });
    const r = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake-base', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000, stream: true }),
    });
    const reader = r.body!.getReader();
    await reader.read();
    const closing = s.close();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await closing;
    expect(service.aborted).toBe(1);
    expect(text.length).toBeLessThan(1000 * 120);
  });

  it('rejects a chunked body over the limit with 413', async () => {
    const s = await startServer({ service: new FakeService(), port: 0, bodyLimit: 4096, stderr: quiet });
    try {
      const chunk = new TextEncoder().encode('x'.repeat(1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent++ < 16) c.enqueue(chunk);
          else c.close();
        },
      });
      const r = await fetch(`${s.url}/v1/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half',
      } as RequestInit);
      expect(r.status).toBe(413);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('body_too_large');
    } finally {
      await s.close();
    }
  });

  it('answers a service failure with 500 server_error, and with an error event inside a stream', async () => {
    class Failing extends FakeService {
      override async generateBatch(prompts: readonly PromptInput[], optsFor: (i: number) => GenerateOptions): Promise<GenerateResult[]> {
        optsFor(0).onText?.('partial');
        throw new WiseError('WISE_ENGINE', 'the engine broke');
      }
    }
    const app = buildServer({ service: new Failing() });
    const r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { model: 'fake-base', prompt: 'hi' } });
    expect(r.statusCode).toBe(500);
    expect(r.json().error).toMatchObject({ type: 'server_error', code: 'server_error' });
    expect(r.json().error.message).toContain('WISE_ENGINE');
    const st = await app.inject({ method: 'POST', url: '/v1/completions', payload: JSON.parse(body()) });
    expect(st.statusCode).toBe(200);
    const events = st.body.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(JSON.parse(events.at(-2)!.slice(6)).error.code).toBe('server_error');
    await app.close();
  });
});

describe('JobQueue', () => {
  it('runs jobs one at a time, in order, and keeps failures with their envelope', async () => {
    const q = new JobQueue();
    const log: string[] = [];
    let running = 0;
    const work = (name: string, fail = false) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await sleep(5);
      log.push(`end ${name}`);
      running--;
      if (fail) throw new WiseError('WISE_BAD_REQUEST', 'nope', { field: 'target' });
      return name;
    };
    const a = q.enqueue('edit', 'a', work('a'));
    const b = q.enqueue('edit', 'b', work('b', true));
    const c = q.enqueue('revert', 'c', work('c'));
    expect([a.id, b.id, c.id]).toEqual(['job-1', 'job-2', 'job-3']);
    expect(q.pending()).toBe(3);
    await q.drain();
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(q.get('job-1')).toMatchObject({ status: 'done', result: 'a' });
    expect(q.get('job-2')).toMatchObject({ status: 'failed', errorStatus: 400, error: { code: 'invalid_value', param: 'target' } });
    expect(q.get('job-3')?.status).toBe('done');
  });

  it('fails jobs that had not started when it closes', async () => {
    const q = new JobQueue();
    q.enqueue('edit', 1, () => sleep(10));
    const later = q.enqueue('edit', 2, async () => 'never');
    q.close();
    await q.drain();
    expect(later).toMatchObject({ status: 'failed', errorStatus: 503, error: { code: 'shutting_down' } });
  });
});
