/**
 * `wise edits list|show ID|revert ID`: the edit log. list and show read the store without
 * loading the model; revert replays the edit's shard without it (it needs the model).
 * A malformed id is a usage error (exit 2); an id not in the log is WISE_NOT_FOUND (exit 1).
 */
import type { Command } from 'commander';
import { WiseError } from '../../util/errors.js';
import type { EditRecord } from '../../shards/index.js';
import type { EditRequest } from '../../edits/request.js';
import { openEditor, openModel, storeDir } from '../open.js';
import { editIdArg, familyContext, openStoreOnly, storeExists } from './common.js';

/** The JSON view of an edit record (as the server's /wise/edits). */
export function editView(e: EditRecord): Record<string, unknown> {
  const req = e.request as EditRequest;
  const meta = (e.meta ?? {}) as { score?: number; steps?: number; loss?: number };
  return {
    id: e.id, status: e.status, prompt: req.prompt, target: req.target,
    ...(req.rephrase !== undefined ? { rephrase: req.rephrase } : {}),
    ...(req.locality_prompt !== undefined ? { locality_prompt: req.locality_prompt } : {}),
    ...(req.locality_answer !== undefined ? { locality_answer: req.locality_answer } : {}),
    ...(req.subject !== undefined ? { subject: req.subject } : {}),
    shard_id: e.shardId, created_at: e.createdAt,
    ...(meta.steps !== undefined ? { steps: meta.steps } : {}),
    ...(meta.score !== undefined ? { score: meta.score } : {}),
    ...(meta.loss !== undefined ? { loss: meta.loss } : {}),
  };
}

function line(e: EditRecord): string {
  const req = e.request as EditRequest;
  return `${String(e.id).padStart(4)}  ${e.status.padEnd(8)}  ${(e.shardId ?? '-').padEnd(9)}  ${req.prompt} → ${req.target}`;
}

export function registerEdits(program: Command): void {
  const edits = program.command('edits').description('list, show and revert the edits in the store');

  edits
    .command('list')
    .description('list the edits in the store (reverted ones included)')
    .option('--active', 'only edits that are not reverted')
    .action(async function (this: Command) {
      const { ctx } = familyContext(this);
      const o = this.opts() as { active?: boolean };
      const dir = storeDir(ctx.config);
      let list: EditRecord[] = [];
      if (storeExists(dir)) {
        const store = await openStoreOnly(ctx, 'wise edits list', dir);
        try {
          list = await store.listEdits();
        } finally {
          await store.close();
        }
      }
      if (o.active) list = list.filter((e) => e.status === 'active');
      const text = list.length === 0 ? `no edits in ${dir}` : ['  id  status    shard      edit', ...list.map(line)].join('\n');
      ctx.out({ store: dir, edits: list.map(editView) }, text);
    });

  edits
    .command('show')
    .description('show one edit')
    .argument('<id>', 'edit id', editIdArg)
    .action(async function (this: Command, id: number) {
      const { ctx } = familyContext(this);
      const store = await openStoreOnly(ctx, 'wise edits show');
      let e: EditRecord | undefined;
      let count = 0;
      try {
        e = await store.getEdit(id);
        count = store.nextEditId;
      } finally {
        await store.close();
      }
      if (!e) throw new WiseError('WISE_NOT_FOUND', `edit ${id} does not exist (${count === 0 ? 'the store holds no edits' : `edit ids run from 0 to ${count - 1}`})`, { id, field: 'id' });
      const v = editView(e);
      ctx.out(v, Object.entries(v).map(([k, x]) => `${k}: ${typeof x === 'string' ? x : JSON.stringify(x)}`).join('\n'));
    });

  edits
    .command('revert')
    .description('revert an edit: its shard is rebuilt without it and merged memories are re-merged')
    .argument('<id>', 'edit id', editIdArg)
    .action(async function (this: Command, id: number) {
      const { ctx } = familyContext(this);
      const dir = storeDir(ctx.config);
      if (!storeExists(dir)) throw new WiseError('WISE_NOT_FOUND', `no wise store at ${dir}`, { location: dir });
      const lm = await openModel(ctx);
      const ed = await openEditor(ctx, lm, 'wise edits revert', dir);
      try {
        const e = await ed.revert(id);
        ctx.out({ reverted: editView(e), applied: ed.state.applied }, `reverted edit ${e.id}: ${(e.request as EditRequest).prompt} → ${(e.request as EditRequest).target}; ${ed.state.applied} active edit${ed.state.applied === 1 ? '' : 's'} remain.`);
      } finally {
        await ed.close();
      }
    });
}
