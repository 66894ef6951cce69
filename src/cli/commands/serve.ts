/**
 * `wise serve [--host H] [--port N] [--token T]`: the OpenAI-compatible server with the edit
 * routes, over the model and the store. It listens first (health answers 503 while the model
 * loads), then loads the model and opens the store as 'wise serve on http://H:N' — the owner
 * name a second process that finds the store locked is shown — and prints the URL on stdout
 * when ready. SIGINT/SIGTERM stop it: the server closes (generations in flight are aborted),
 * then the store (after an edit in training finishes).
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { startServer, modelId } from '../../serve/index.js';
import { WiseModelService } from '../../serve/wise-service.js';
import { modelDir, openEditor, openModel, storeDir } from '../open.js';
import { familyContext, intArg, nonEmptyArg } from './common.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the edited model: OpenAI API at /v1, edits at /wise (bearer token)')
    .option('--host <host>', 'address to bind (default: serve.host, 127.0.0.1)', nonEmptyArg('--host'))
    .option('--port <n>', 'port; 0 picks a free one (default: serve.port, 8080)', intArg('--port', 0, 65535))
    .option('--token <token>', 'bearer token for the edit routes (default: env WISE_TOKEN, else a generated one)', nonEmptyArg('--token'))
    .action(async function (this: Command) {
      const { g, ctx } = familyContext(this);
      const o = this.opts() as { host?: string; port?: number; token?: string };
      const host = o.host ?? ctx.config.serve.host;
      const port = o.port ?? ctx.config.serve.port;
      const quietErr = ctx.json || Boolean(g.quiet);
      // Registered first: a signal while the model loads shuts down once it is loaded.
      const stop = new Promise<NodeJS.Signals>((res) => {
        process.once('SIGINT', () => res('SIGINT'));
        process.once('SIGTERM', () => res('SIGTERM'));
      });
      let resolve!: (s: WiseModelService) => void;
      let reject!: (e: unknown) => void;
      const pending = new Promise<WiseModelService>((res, rej) => ((resolve = res), (reject = rej)));
      const server = await startServer({
        service: pending, host, port, token: o.token,
        bodyLimit: ctx.config.serve.body_limit, maxPromptTokens: ctx.config.serve.max_prompt_tokens, responsesStore: ctx.config.serve.responses_store,
        ...(quietErr ? { stderr: { write: () => true } } : {}),
      });
      let service: WiseModelService;
      try {
        const lm = await openModel(ctx, 'serve');
        const editor = await openEditor(ctx, lm, `wise serve on ${server.url}`, storeDir(ctx.config), 'serve');
        service = new WiseModelService({ lm, editor, baseName: path.basename(modelDir(ctx.config)), batchSize: ctx.config.serve.batch_size });
        resolve(service);
      } catch (e) {
        reject(e);
        await server.close();
        throw e;
      }
      const model = modelId(service.baseName, service.editSeq());
      const generated = server.tokenSource === 'generated';
      ctx.out(
        { url: server.url, model, token_source: server.tokenSource, ...(generated ? { token: server.token } : {}) },
        `wise serve: ready at ${server.url} (model ${model})${generated && quietErr ? `\nedit-route token: ${server.token}` : ''}`,
      );
      const signal = await stop;
      ctx.log.info(`wise serve: ${signal}, shutting down`);
      await server.close();
      await service.close();
    });
}
