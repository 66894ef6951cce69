/**
 * The training process's entry point (a child process that train-process.ts forks): it runs whole
 * edits' step loops (trainSideMemory, train.ts) on onnxruntime sessions of its own, so that the
 * parent's event loop, where onnxruntime-node runs every session synchronously, keeps decoding while
 * an edit trains.
 *
 * Sessions live in the engine's SessionCache with the parent engine's settings, one per step graph
 * (by graph hash), least recently used out beyond the engine's session budget; a graph's ONNX bytes
 * and its input defaults (frozen weights fed as inputs, for large models) arrive with the first job
 * that uses it, and a reply names the graphs evicted, so the parent sends them again when next
 * needed. Jobs run one at a time in arrival order. The process exits when the parent's channel closes.
 */
import { WiseError } from '../util/errors.js';
import { SessionCache, runSession, type EngineOptions } from '../engine/index.js';
import type { TensorData } from '../graph/types.js';
import { STEP_FETCHES, trainSideMemory } from './train.js';
import type { ChildMessage, TrainJob, TrainReply } from './train-process.js';

let opts: Required<EngineOptions> | null = null;
let base: Float32Array | null = null;
/** the step graphs' sessions, within the parent engine's budget (made on init) */
let cache: SessionCache | null = null;
/** each cached graph's input defaults (they arrive with its bytes) */
const defaultsOf = new Map<string, Record<string, TensorData>>();
/** hashes evicted during the current job, reported with its reply */
let evicted: string[] = [];

async function train(job: TrainJob): Promise<TrainReply> {
  if (!opts || !base || !cache) throw new WiseError('WISE_INTERNAL', 'training process: a job arrived before the init message');
  const g = job.graph;
  evicted = [];
  if (g.defaults) defaultsOf.set(g.hash, g.defaults);
  const defaults = defaultsOf.get(g.hash) ?? {};
  const e = await cache.acquireSource({
    hash: g.hash, name: g.name, floatType: g.floatType,
    bytes: () => {
      if (!g.bytes) throw new WiseError('WISE_INTERNAL', `training process: graph ${g.name} (${g.hash}) arrived without its bytes`, { graph: g.name });
      return g.bytes;
    },
    extraBytes: Object.values(defaults).reduce((n, t) => n + t.data.byteLength, 0),
  });
  try {
    const fixed = { ...defaults, ...job.feeds };
    const run = (side: TensorData): Promise<Record<string, TensorData>> => runSession(e.session, { ...fixed, side_weight: side }, STEP_FETCHES, `${g.name} (training process)`);
    const result = await trainSideMemory(run, job.side, base, job.shape, job.mask, job.rows, job.hp);
    return { kind: 'trained', id: job.id, ok: true, side: job.side, result, evicted };
  } finally {
    cache.release(e);
  }
}

let tail: Promise<unknown> = Promise.resolve();
process.on('message', (m: ChildMessage) => {
  if (m.kind === 'init') {
    opts = m.opts;
    base = m.base;
    cache = new SessionCache(opts, (hash) => {
      defaultsOf.delete(hash);
      evicted.push(hash);
    });
    return;
  }
  tail = tail.then(async () => {
    let reply: TrainReply;
    try {
      reply = await train(m);
    } catch (e) {
      const err = e instanceof WiseError ? e : new WiseError('WISE_INTERNAL', `training process: ${(e as Error).message}`);
      reply = { kind: 'trained', id: m.id, ok: false, error: err.toJSON() };
    }
    process.send!(reply);
  });
});
process.on('disconnect', () => process.exit(0));
process.send!({ kind: 'ready' });
