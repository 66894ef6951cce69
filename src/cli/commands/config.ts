/** `wise config`: print the resolved configuration (defaults < file < env < flags). */
import type { Command } from 'commander';
import { makeContext, type GlobalOptions } from '../context.js';
import { stringify } from 'yaml';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('print the resolved configuration')
    .action(function (this: Command) {
      const ctx = makeContext(this.optsWithGlobals() as GlobalOptions);
      ctx.out(ctx.config, stringify(ctx.config).trimEnd());
    });
}
