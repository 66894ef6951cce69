/**
 * wise.project_rank for an editor: U (r, ff) of memory/projection.ts is computed once per store
 * from the pool's first project_samples texts and kept in the store (meta 'projection', base64
 * float32), so replays use the same U whatever the pool later is. The computation is
 * deterministic, so one result serves every store a process opens on the same model and texts.
 */
import { WiseError } from '../util/errors.js';
import { hashString32 } from '../util/rng.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { SideMemory } from '../memory/side-memory.js';
import type { ShardStore } from '../shards/index.js';

const memo = new WeakMap<CausalLM, Map<string, Float32Array>>();

export async function loadProjection(store: ShardStore, memory: SideMemory, rank: number, samples: number, pool: readonly string[]): Promise<void> {
  const stored = (await store.getMeta('projection')) as { rank: number; samples: number; u: string } | undefined;
  let u: Float32Array;
  if (stored) {
    if (stored.rank !== rank) throw new WiseError('WISE_BAD_CONFIG', `wise.project_rank is ${rank} but this store was built with ${stored.rank}`, { field: 'wise.project_rank' });
    const buf = Buffer.from(stored.u, 'base64');
    u = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  } else {
    if (pool.length === 0) throw new WiseError('WISE_BAD_CONFIG', 'wise.project_rank needs an irrelevant-sample pool to take directions from', { field: 'wise.project_rank' });
    const texts = pool.slice(0, samples);
    const key = `${memory.layer}:${rank}:${texts.length}:${hashString32(texts.join('\n'))}`;
    let m = memo.get(memory.lm);
    if (!m) memo.set(memory.lm, (m = new Map()));
    u = m.get(key) ?? (await memory.projectionFrom(texts, rank));
    m.set(key, u);
    await store.putMeta('projection', { rank, samples, u: Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64') });
  }
  memory.setProjection({ rank, u });
}
