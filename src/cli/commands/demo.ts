/** `wise demo`: edits the bundled model and shows the result (src/cli/demo.ts). */
import { Command, InvalidArgumentError } from 'commander';
import { makeContext, type GlobalOptions } from '../context.js';
import { openModel, withFamily } from '../open.js';
import { demoText, runDemo } from '../demo.js';
import { createLogger } from '../../util/log.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('edit the bundled model with WISE and show facts before and after (offline, < 2 minutes)')
    .option('--edits <n>', 'number of counterfactual edits (1-10)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 10) throw new InvalidArgumentError('--edits must be an integer from 1 to 10');
      return n;
    }, 4)
    .action(async function (this: Command) {
      const g = this.optsWithGlobals() as GlobalOptions & { edits: number };
      const base = makeContext(g);
      const config = withFamily(base, g);
      // The demo narrates on stderr even without a TTY (unless --json/--quiet): it is the point of the command.
      const log = createLogger({ enabled: !g.json && !g.quiet, level: config.log.level });
      const ctx = { ...base, config, log };
      const lm = await openModel(ctx);
      const r = await runDemo(ctx, lm, g.edits);
      ctx.out(r, demoText(r));
    });
}
