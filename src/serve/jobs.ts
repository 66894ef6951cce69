/**
 * JobQueue: a FIFO that runs write operations on the model (apply an edit, revert one,
 * merge shards) one at a time, while reads (generation) go on beside it. Each job gets
 * an id `job-N` and moves queued → running → done | failed; a failed job keeps the
 * error envelope it would have answered with. Finished jobs are kept (the newest
 * `keep`) so clients can poll them.
 */
import { toApiError, type ApiErrorBody } from './errors.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';
export type JobKind = 'edit' | 'revert' | 'merge' | 'backup';

export interface Job {
  id: string;
  kind: JobKind;
  status: JobStatus;
  input: unknown;
  result?: unknown;
  error?: ApiErrorBody;
  /** HTTP status of the error, when failed */
  errorStatus?: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

interface Entry {
  job: Job;
  settled: Promise<Job>;
}

export class JobQueue {
  private readonly entries = new Map<string, Entry>();
  private tail: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private closed = false;

  /** `onSettled` sees every job once it has finished, done or failed (the server's metrics) */
  constructor(
    private readonly keep = 1000,
    private readonly onSettled?: (job: Job) => void,
  ) {}

  /** Queues `run`; it starts after every job queued before it has finished. */
  enqueue(kind: JobKind, input: unknown, run: () => Promise<unknown>): Job {
    const job: Job = { id: `job-${++this.seq}`, kind, status: 'queued', input, createdAt: new Date().toISOString() };
    const settled = this.tail.then(() => this.execute(job, run));
    this.tail = settled;
    this.entries.set(job.id, { job, settled });
    this.prune();
    return job;
  }

  private async execute(job: Job, run: () => Promise<unknown>): Promise<Job> {
    if (this.closed) {
      job.status = 'failed';
      job.error = { message: 'the server is shutting down', type: 'unavailable_error', param: null, code: 'shutting_down' };
      job.errorStatus = 503;
      job.finishedAt = new Date().toISOString();
      this.onSettled?.(job);
      return job;
    }
    job.status = 'running';
    job.startedAt = new Date().toISOString();
    try {
      job.result = await run();
      job.status = 'done';
    } catch (e) {
      const err = toApiError(e);
      job.status = 'failed';
      job.error = err.body();
      job.errorStatus = err.status;
    }
    job.finishedAt = new Date().toISOString();
    this.onSettled?.(job);
    return job;
  }

  get(id: string): Job | undefined {
    return this.entries.get(id)?.job;
  }

  /** Resolves when the job has finished (done or failed). */
  async wait(id: string): Promise<Job | undefined> {
    return this.entries.get(id)?.settled;
  }

  /** Jobs not yet finished. */
  pending(): number {
    let n = 0;
    for (const { job } of this.entries.values()) if (job.status === 'queued' || job.status === 'running') n++;
    return n;
  }

  /** Resolves when every job queued so far has finished. */
  async drain(): Promise<void> {
    await this.tail;
  }

  /** Jobs that have not started yet fail with `shutting_down`; the running one finishes. */
  close(): void {
    this.closed = true;
  }

  private prune(): void {
    if (this.entries.size <= this.keep) return;
    for (const [id, { job }] of this.entries) {
      if (this.entries.size <= this.keep) break;
      if (job.status === 'done' || job.status === 'failed') this.entries.delete(id);
    }
  }
}

/** The wire view of a job. */
export function jobView(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    object: 'wise.job',
    kind: job.kind,
    status: job.status,
    input: job.input,
    result: job.result ?? null,
    error: job.error ?? null,
    created_at: job.createdAt,
    started_at: job.startedAt ?? null,
    finished_at: job.finishedAt ?? null,
  };
}
