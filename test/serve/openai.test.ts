/**
 * The server suite (server-suite.ts) on the FakeService test double, plus startServer's
 * token handling. The real model runs the same suite via `runServerSuite(name, factory)`.
 */
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { runServerSuite } from './server-suite.js';
import { FakeService } from './fake-service.js';
import { startServer } from '../../src/serve/index.js';

runServerSuite('fake service', () => ({
  service: new FakeService({ tickMs: 2, editDelayMs: 20 }),
  edit: { prompt: 'The capital of Freedonia is', target: 'Sylvania City' },
  strictInterleave: true,
}));

describe('startServer', () => {
  const silent = (): { lines: string[]; write(s: string): boolean } => {
    const lines: string[] = [];
    return { lines, write: (s: string) => (lines.push(s), true) };
  };

  it('takes the token from the flag, else WISE_TOKEN, else generates and prints one', async () => {
    const cases = [
      { token: 'from-flag', env: { WISE_TOKEN: 'from-env' }, source: 'flag' },
      { token: undefined, env: { WISE_TOKEN: 'from-env' }, source: 'env' },
      { token: undefined, env: {}, source: 'generated' },
      { token: '', env: { WISE_TOKEN: '' }, source: 'generated' },
    ] as const;
    for (const c of cases) {
      const err = silent();
      const s = await startServer({ service: new FakeService(), port: 0, token: c.token, env: c.env, stderr: err });
      try {
        expect(s.tokenSource).toBe(c.source);
        expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(err.lines.join('')).toContain(s.url);
        if (c.source === 'generated') {
          expect(s.token.length).toBeGreaterThanOrEqual(24);
          expect(err.lines.join('')).toContain(s.token);
        } else {
          expect(err.lines.join('')).not.toContain(s.token);
        }
        const ok = await fetch(`${s.url}/wise/edits`, { headers: { authorization: `Bearer ${s.token}` } });
        expect(ok.status).toBe(200);
      } finally {
        await s.close();
      }
    }
  });

  it('answers 503 on /health and the API while the service loads, then 200', async () => {
    let resolve!: (s: FakeService) => void;
    const pending = new Promise<FakeService>((r) => (resolve = r));
    const s = await startServer({ service: pending, port: 0, stderr: silent() });
    try {
      const h = await fetch(`${s.url}/health`);
      expect(h.status).toBe(503);
      expect(((await h.json()) as { error: { code: string } }).error.code).toBe('model_loading');
      const m = await fetch(`${s.url}/v1/models`);
      expect(m.status).toBe(503);
      resolve(new FakeService());
      await pending;
      const h2 = await fetch(`${s.url}/health`);
      expect(h2.status).toBe(200);
      expect(((await h2.json()) as { model: string }).model).toBe('fake-base+edits@0');
    } finally {
      await s.close();
    }
  });

  it('needs the token on the OpenAI routes too when bound beyond loopback', async () => {
    const { buildServer } = await import('../../src/serve/index.js');
    const app = buildServer({ service: new FakeService(), host: '0.0.0.0', token: 't' });
    await Promise.resolve();
    const body = { model: 'fake-base', prompt: 'hi', max_tokens: 1 };
    expect((await app.inject({ method: 'POST', url: '/v1/completions', payload: body })).statusCode).toBe(401);
    const ok = await app.inject({ method: 'POST', url: '/v1/completions', payload: body, headers: { authorization: 'Bearer t' } });
    expect(ok.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    await app.close();
  });
});

describe('several prompts in one request', () => {
  it('all run on the state current when the request starts: an edit applied meanwhile reaches none of them', async () => {
    const service = new FakeService({ tickMs: 2, editDelayMs: 5 });
    const s = await startServer({ service, port: 0, token: 't', stderr: { write: () => true } });
    const post = (path: string, body: unknown): Promise<Response> =>
      fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer t' }, body: JSON.stringify(body) });
    try {
      const edit = { prompt: 'The capital of Freedonia is', target: 'Sylvania City' };
      const pending = post('/v1/completions', { model: 'fake-base', prompt: ['x', edit.prompt], max_tokens: 40, temperature: 0 });
      while (service.generations === 0) await sleep(1); // the first prompt is under way (40 ticks of 2 ms)
      expect((await post('/wise/edits?wait=true', edit)).status).toBe(200);
      expect(service.generations).toBe(1); // the edit is applied before the second prompt starts
      const r = (await (await pending).json()) as { model: string; choices: { index: number; text: string }[]; wise: { edit_seq: number; memories: string[] } };
      expect(r.model).toBe('fake-base+edits@0');
      expect(r.wise.edit_seq).toBe(0);
      expect(r.wise.memories).toEqual(['main', 'main']);
      expect(r.choices[1]!.text).not.toContain('Sylvania');
      const after = (await (await post('/v1/completions', { model: 'fake-base', prompt: [edit.prompt], max_tokens: 40, temperature: 0 })).json()) as typeof r;
      expect(after.choices[0]!.text).toBe(' Sylvania City');
    } finally {
      await s.close();
    }
  });
});
