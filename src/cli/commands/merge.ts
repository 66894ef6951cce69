/** `wise merge`: merge the pending shards now (saving the active memory first when it holds edits). */
import type { Command } from 'commander';
import { WiseError } from '../../util/errors.js';
import { openEditor, openModel, storeDir } from '../open.js';
import { familyContext, storeExists } from './common.js';

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('merge the pending shards (and the active memory) into the merged memory now')
    .action(async function (this: Command) {
      const { ctx } = familyContext(this);
      const dir = storeDir(ctx.config);
      if (!storeExists(dir)) throw new WiseError('WISE_NOT_FOUND', `no wise store at ${dir}`, { location: dir });
      const lm = await openModel(ctx);
      const ed = await openEditor(ctx, lm, 'wise merge', dir);
      try {
        const r = await ed.mergeNow();
        const memories = ed.state.memories.map((m) => m.id);
        ctx.out({ ...r, memories, applied: ed.state.applied }, r.merged ? `merged into ${r.memory}` : 'nothing to merge (no pending shards and no edits in the active memory)');
      } finally {
        await ed.close();
      }
    });
}
