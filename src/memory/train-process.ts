/**
 * TrainProcess: trains edits in a child process (train-child.ts) instead of on the main thread.
 *
 * Why: onnxruntime-node runs `session.run` synchronously on the calling thread, so in process an
 * edit's n_iter step runs (about 30 ms each on the bundled model, 200 ms at GPT-2 size) take turns
 * with everything else on the event loop, decoding included. In the child the step loop runs beside
 * the parent (engine.train_process; on by default for `wise serve`).
 *
 * Why a process and not a worker thread: onnxruntime-node 1.30 in a worker thread aborts the whole
 * process when a run fails there ("terminate called after throwing an instance of 'Napi::Error'",
 * measured while writing this; the same failure on the main thread is an ordinary exception). In a
 * child, a failure or a crash ends that child only: its job fails with WISE_ENGINE and the next job
 * forks a new one.
 *
 * What stays in the parent: the lower pass and the edit batch (the step graph's feeds), which are
 * validated here against the graph, as engine.run would, so a bad feed fails with the same code. The
 * child makes its sessions with the parent engine's settings and runs the same graph bytes and the
 * same loop (trainSideMemory), so W′ and the scores are the bits training in process gives
 * (test/memory/train-process.test.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WiseError, type ErrorCode } from '../util/errors.js';
import { graphHash, toOnnxBytes, type Graph } from '../graph/index.js';
import type { TensorData } from '../graph/types.js';
import { validateFeeds, type EngineOptions } from '../engine/index.js';
import type { EditHparams, EditTrainResult, TrainRows } from './train.js';

/** parent → child: one edit's step loop. */
export interface TrainJob {
  kind: 'train';
  id: number;
  /** the step graph; bytes and defaults only the first time this child sees the hash */
  graph: { hash: string; name: string; floatType: Graph['floatType']; bytes?: Uint8Array; defaults?: Record<string, TensorData> };
  /** every input but side_weight and the graph's input defaults */
  feeds: Record<string, TensorData>;
  /** W′ at the start (a copy; it comes back trained) */
  side: Float32Array;
  mask: Float32Array;
  shape: number[];
  rows: TrainRows;
  hp: EditHparams;
}

/** parent → child: the engine settings and W, first. */
export type ChildMessage = { kind: 'init'; opts: Required<EngineOptions>; base: Float32Array } | TrainJob;

/** child → parent */
export type TrainReply =
  | { kind: 'trained'; id: number; ok: true; side: Float32Array; result: EditTrainResult; evicted: string[] }
  | { kind: 'trained'; id: number; ok: false; error: { code: ErrorCode; message: string; details: Record<string, unknown> } };
type ParentMessage = TrainReply | { kind: 'ready' };

interface Pending {
  /** the child that runs it */
  proc: ChildProcess;
  resolve: (r: { side: Float32Array; result: EditTrainResult }) => void;
  reject: (e: Error) => void;
}

/**
 * Forks train-child next to this module: the .js when built; under tsx or vitest (this file is .ts) the
 * .ts through tsx's loader. Messages use the structured clone ('advanced'), so typed arrays travel as such.
 */
function forkChild(): ChildProcess {
  const ts = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(ts ? './train-child.ts' : './train-child.js', import.meta.url));
  return fork(entry, [], { serialization: 'advanced', execArgv: ts ? ['--import', 'tsx'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

interface Child {
  proc: ChildProcess;
  /** resolves when the child listens (messages sent earlier could be lost); rejects if it dies first */
  ready: Promise<void>;
  /** graph hashes whose session this child has */
  known: Set<string>;
}

export class TrainProcess {
  private child: Child | null = null;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  /** children forked so far (a dead one is replaced on the next job) */
  started = 0;

  /**
   * @param opts the parent engine's settings (the child's sessions use the same)
   * @param base W, the frozen weight (sent once per child)
   */
  constructor(
    private readonly opts: Readonly<Required<EngineOptions>>,
    private readonly base: Float32Array,
  ) {}

  /** Trains `side` (W′, updated in place) in the child: trainSideMemory's result. `side` is untouched if it fails. */
  async train(graph: Graph, feeds: Record<string, TensorData>, side: Float32Array, mask: Float32Array, shape: readonly number[], rows: TrainRows, hp: EditHparams): Promise<EditTrainResult> {
    const all = validateFeeds(graph, { ...feeds, side_weight: { dtype: 'float32', dims: [...shape], data: side } });
    const c = this.start();
    const hash = graphHash(graph);
    const explicit: Record<string, TensorData> = {};
    for (const [k, t] of Object.entries(all)) if (k !== 'side_weight' && graph.inputDefaults.get(k) !== t) explicit[k] = t;
    const job: TrainJob = {
      kind: 'train',
      id: ++this.seq,
      graph: { hash, name: graph.name, floatType: graph.floatType },
      feeds: explicit,
      side,
      mask,
      shape: [...shape],
      rows: { isEdit: [...rows.isEdit], isOut: [...rows.isOut], probeRow: rows.probeRow },
      hp: { ...hp },
    };
    if (!c.known.has(hash)) {
      job.graph.bytes = toOnnxBytes(graph);
      job.graph.defaults = Object.fromEntries(graph.inputDefaults);
    }
    this.hold(c.proc, true); // a job in flight keeps the parent alive
    await c.ready; // rejects with WISE_ENGINE if the child died first
    // registered only now, so that a child dying before it was ready leaves no rejected promise unobserved
    const done = new Promise<{ side: Float32Array; result: EditTrainResult }>((resolve, reject) => this.pending.set(job.id, { proc: c.proc, resolve, reject }));
    try {
      c.proc.send(job); // serialized now: later changes to `side` do not reach the child
    } catch (e) {
      this.pending.delete(job.id);
      throw new WiseError('WISE_ENGINE', `the training process stopped: ${(e as Error).message}`, { process: c.proc.pid ?? null });
    }
    c.known.add(hash);
    const r = await done;
    side.set(r.side);
    return r.result;
  }

  /** Step graphs whose session the current child holds (its LRU budget is the engine's session budget). */
  get graphsHeld(): number {
    return this.child?.known.size ?? 0;
  }

  /** Stops the child (jobs in flight fail). */
  async close(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
    const exited = new Promise<void>((res) => c.proc.once('exit', () => res()));
    c.proc.ref(); // an unref'd child would let the parent's loop end before its exit event: close() would never return
    c.proc.kill('SIGKILL');
    await exited;
  }

  /** ref/unref the child and its channel: an idle child never keeps the parent from exiting. */
  private hold(proc: ChildProcess, on: boolean): void {
    const ch = proc.channel as { ref?: () => void; unref?: () => void } | null | undefined;
    if (on) {
      proc.ref();
      ch?.ref?.();
    } else {
      proc.unref();
      ch?.unref?.();
    }
  }

  private start(): Child {
    if (this.child) return this.child;
    const proc = forkChild();
    this.started++;
    let ready!: () => void;
    let notReady!: (e: Error) => void;
    const c: Child = { proc, ready: new Promise<void>((res, rej) => ((ready = res), (notReady = rej))), known: new Set() };
    c.ready.catch(() => undefined); // observed by train(); a child that dies idle is not an error
    proc.on('message', (m: ParentMessage) => {
      if (m.kind === 'ready') {
        const init: ChildMessage = { kind: 'init', opts: { ...this.opts, executionProviders: [...this.opts.executionProviders] }, base: this.base };
        proc.send(init);
        ready();
        return;
      }
      if (m.ok) for (const h of m.evicted) c.known.delete(h); // sent again with the next job that needs it
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (![...this.pending.values()].some((q) => q.proc === proc)) this.hold(proc, false);
      if (m.ok) p.resolve({ side: m.side, result: m.result });
      else p.reject(new WiseError(m.error.code, m.error.message, m.error.details));
    });
    const fail = (why: string): void => {
      if (this.child === c) this.child = null;
      const err = new WiseError('WISE_ENGINE', `the training process stopped: ${why}`, { process: proc.pid ?? null });
      notReady(err);
      for (const [id, p] of this.pending) {
        if (p.proc !== proc) continue;
        this.pending.delete(id);
        p.reject(err);
      }
    };
    proc.on('error', (e) => fail(e.message));
    proc.on('exit', (code, signal) => fail(signal ? `signal ${signal}` : `exit code ${code}`));
    this.hold(proc, false);
    this.child = c;
    return c;
  }
}
