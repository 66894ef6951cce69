/**
 * `wise db check [--deep]` and `wise db backup DIR`.
 *  - check re-verifies every invariant of the store (checkStore) and prints the report; exit 1
 *    when it finds errors (warnings alone are ok). --deep also loads the model and rebuilds every
 *    memory from the edit log, which must give the stored bits.
 *  - backup writes a consistent copy into DIR (an empty or new directory), which opens as a store.
 *  - gc deletes the blobs no record references (what `check` warns about as orphan-blob).
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { checkStore, backupStore, type CheckReport } from '../../shards/index.js';
import { rebuildState, diffStates } from '../../edits/rebuild.js';
import { EXIT } from '../exit-codes.js';
import { openEditor, openModel, storeDir } from '../open.js';
import { familyContext, openStoreOnly } from './common.js';

function reportText(dir: string, r: CheckReport): string {
  const s = r.stats;
  const n = (k: number, one: string, many = `${one}s`): string => `${k} ${k === 1 ? one : many}`;
  const lines = [`store ${dir}: ${r.ok ? 'ok' : 'NOT OK'}`, `  ${n(s.edits, 'edit')}, ${n(s.shards, 'shard')}, ${n(s.memories, 'memory', 'memories')}, ${n(s.blobs, 'blob')}, ${n(s.records, 'record')}`];
  for (const e of r.errors) lines.push(`  error   [${e.code}]${e.key ? ` ${e.key}:` : ''} ${e.message}`);
  for (const w of r.warnings) lines.push(`  warning [${w.code}]${w.key ? ` ${w.key}:` : ''} ${w.message}`);
  return lines.join('\n');
}

export function registerDb(program: Command): void {
  const db = program.command('db').description('check, back up or garbage-collect the store');

  db.command('check')
    .description('verify the store (checksums, ids, references, blobs); exit 1 when it has errors')
    .option('--deep', 'also rebuild every memory from the edit log (loads the model)')
    .action(async function (this: Command) {
      const { ctx } = familyContext(this);
      const o = this.opts() as { deep?: boolean };
      const dir = storeDir(ctx.config);
      let report: CheckReport;
      if (o.deep) {
        const lm = await openModel(ctx);
        const ed = await openEditor(ctx, lm, 'wise db check --deep', dir);
        try {
          report = await checkStore(ed.store);
          const bad = diffStates(ed.state, await rebuildState(ed));
          for (const id of bad) report.errors.push({ code: 'not-rebuildable', key: id, message: `memory ${id} differs from a rebuild from the edit log` });
          report.ok = report.errors.length === 0;
        } finally {
          await ed.close();
        }
      } else {
        const store = await openStoreOnly(ctx, 'wise db check', dir);
        try {
          report = await checkStore(store);
        } finally {
          await store.close();
        }
      }
      ctx.out({ store: dir, ...report }, reportText(dir, report));
      if (!report.ok) process.exitCode = EXIT.failure;
    });

  db.command('gc')
    .description('delete the blobs no record references (left by a crash between a blob write and its commit)')
    .action(async function (this: Command) {
      const { ctx } = familyContext(this);
      const dir = storeDir(ctx.config);
      const store = await openStoreOnly(ctx, 'wise db gc', dir);
      try {
        const removed = await store.gc();
        ctx.out({ store: dir, removed }, `store ${dir}: ${removed.length} unreferenced blob${removed.length === 1 ? '' : 's'} removed`);
      } finally {
        await store.close();
      }
    });

  db.command('backup')
    .description('write a consistent copy of the store into DIR (new or empty)')
    .argument('<dir>', 'destination directory')
    .action(async function (this: Command, dest: string) {
      const { ctx } = familyContext(this);
      const dir = storeDir(ctx.config);
      const target = path.resolve(dest);
      const store = await openStoreOnly(ctx, 'wise db backup', dir);
      try {
        const r = await backupStore(store, target);
        ctx.out({ store: dir, backup: target, ...r }, `backed up ${dir} to ${target}: ${r.records} records, ${r.blobs} blob files (${r.blobBytes} bytes)${r.unreadable.length > 0 ? `; ${r.unreadable.length} unreadable records copied as they are: ${r.unreadable.join(', ')}` : ''}`);
      } finally {
        await store.close();
      }
    });
}
