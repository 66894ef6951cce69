/**
 * The training process's entry point (a child process that train-process.ts forks): it runs whole
 * edits' step loops (trainSideMemory, train.ts) on onnxruntime sessions of its own, so that the
 * parent's event loop, where onnxruntime-node runs every session synchronously, keeps decoding while
 * an edit trains.
 *
 * Sessions are made by the engine's createSession with the parent engine's settings, one per step
 * graph (by graph hash), kept least-recently-used within the engine's session budget as the parent's
 * cache keeps its own (engine/session.ts); a graph's ONNX bytes and its input defaults (frozen weights
 * fed as inputs, for large models) arrive with the first job that uses it, and a reply names the
 * graphs evicted, so the parent sends them again when next needed. Jobs run one at a time in arrival
 * order. The process exits when the parent's channel closes.
 */
import { WiseError } from '../util/errors.js';
import { createSession, runSession, type EngineOptions, type Session } from '../engine/index.js';
import type { TensorData } from '../graph/types.js';
import { STEP_FETCHES, trainSideMemory } from './train.js';
import type { ChildMessage, TrainJob, TrainReply } from './train-process.js';

let opts: Required<EngineOptions> | null = null;
let base: Float32Array | null = null;

interface Loaded {
  session: Session;
  defaults: Record<string, TensorData>;
  /** the graph's bytes and its input defaults' bytes: what the session budget counts */
  bytes: number;
}
/** insertion order = least recently used first */
const sessions = new Map<string, Loaded>();
let held = 0;

/** The session of `g` (made on first use), and the hashes evicted to keep the budget (never g's). */
async function loaded(g: TrainJob['graph']): Promise<{ s: Loaded; evicted: string[] }> {
  let s = sessions.get(g.hash);
  if (s) sessions.delete(g.hash); // re-inserted below as the most recent
  else {
    if (!g.bytes) throw new WiseError('WISE_INTERNAL', `training process: graph ${g.name} (${g.hash}) arrived without its bytes`, { graph: g.name });
    const defaults = g.defaults ?? {};
    const bytes = g.bytes.byteLength + Object.values(defaults).reduce((n, t) => n + t.data.byteLength, 0);
    s = { session: await createSession(g.bytes, opts!, g.floatType, g.name, g.hash), defaults, bytes };
    held += bytes;
  }
  sessions.set(g.hash, s);
  const evicted: string[] = [];
  for (const [hash, e] of sessions) {
    if (held <= opts!.cacheBudgetBytes || hash === g.hash) break;
    sessions.delete(hash);
    held -= e.bytes;
    evicted.push(hash);
    void e.session.release();
  }
  return { s, evicted };
}

async function train(job: TrainJob): Promise<TrainReply> {
  if (!opts || !base) throw new WiseError('WISE_INTERNAL', 'training process: a job arrived before the init message');
  const { s: { session, defaults }, evicted } = await loaded(job.graph);
  const fixed = { ...defaults, ...job.feeds };
  const run = (side: TensorData): Promise<Record<string, TensorData>> => runSession(session, { ...fixed, side_weight: side }, STEP_FETCHES, `${job.graph.name} (training process)`);
  const result = await trainSideMemory(run, job.side, base, job.shape, job.mask, job.rows, job.hp);
  return { kind: 'trained', id: job.id, ok: true, side: job.side, result, evicted };
}

let tail: Promise<unknown> = Promise.resolve();
process.on('message', (m: ChildMessage) => {
  if (m.kind === 'init') {
    opts = m.opts;
    base = m.base;
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
