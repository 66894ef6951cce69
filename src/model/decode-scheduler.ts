/**
 * DecodeScheduler: continuous batching over one model, as llama.cpp's server decodes its slots
 * and vLLM its running sequences. Callers (concurrent server requests) submit rows; one loop
 * decodes every admitted row together, one token per step, and between steps admits waiting rows
 * (their prompts run as one prefill, then join the running batch: DecodeBatch.merge) while there
 * is room, so a request does not wait for another to finish, and a finished row's slot is
 * refilled at once.
 *
 *  - At most `maxRows` rows decode at a time; waiting rows are admitted in arrival order. A row holds
 *    a slot (0 … maxRows − 1, the lowest free one) from its prefill until it ends, as llama.cpp's
 *    server numbers its slots (`slots()`, GET /slots).
 *  - A batch runs one variant (one graph, one set of memory feeds: a WISE state). Rows of another
 *    variant (requests that started after an edit landed) form a batch of their own; the loop steps
 *    each variant's batch in turn, and the old one ends as its rows finish.
 *  - After its prefill, a row that the router sent to main decodes in the plain model's batch
 *    (DecodeBatch.takePlain: its steps are exactly the plain model's), whatever its variant, so
 *    such rows neither pay for the memories at every step nor split by WISE state.
 *  - A prefill holds at most `variant.maxTokens` tokens (rows × the longest prompt).
 *  - Each row gets what it would get alone up to float rounding (decode-batch.ts).
 *  - An error in a shared step fails the rows of that step, not the rows still waiting; an error
 *    thrown by one row's callbacks fails that row only.
 */
import { WiseError } from '../util/errors.js';
import { DecodeBatch, decodeRow, rowOutput, type DecodeModel, type DecodeRow } from './decode-batch.js';
import type { GenerateOpts, GenerateOutput, Variant } from './causal-lm.js';

/** What the scheduler needs of its model besides DecodeModel: prompt checks, context and stop ids. */
export interface SchedulerModel extends DecodeModel {
  readonly contextLength: number;
  readonly eosIds: number[];
  checkPrompt(prompt: readonly number[]): void;
}

/** A slot's row (GET /slots): its prompt's tokens, the tokens generated so far, and the most it may generate. */
export interface SlotRow {
  promptTokens: number;
  decoded: number;
  budget: number;
}

interface Job {
  row: DecodeRow;
  /** the variant the row's prompt runs under (its steps may run the plain graph: takePlain) */
  variant: Variant | undefined;
  resolve: (out: GenerateOutput) => void;
  reject: (e: unknown) => void;
}

export class DecodeScheduler {
  private waiting: Job[] = [];
  /** the running rows: one batch per variant (a WISE state), stepped in turn */
  private batches = new Map<Variant | undefined, DecodeBatch>();
  /** the job of every admitted row (to reject it if a shared step fails) */
  private readonly admitted = new Map<DecodeRow, Job>();
  /** the slot of each row from its prefill until it ends */
  private readonly slotOf = new Map<DecodeRow, number>();
  private looping = false;

  constructor(
    private readonly m: SchedulerModel,
    readonly maxRows: number,
  ) {
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new WiseError('WISE_INTERNAL', `DecodeScheduler: maxRows ${maxRows}`);
  }

  /** Rows decoding now (over all variants), and rows waiting for room. */
  get load(): { running: number; waiting: number } {
    let running = 0;
    for (const b of this.batches.values()) running += b.size;
    return { running, waiting: this.waiting.length };
  }

  /** the longest KV cache of the running batches, in positions per row (padding included) */
  get cachedPositions(): number {
    let P = 0;
    for (const b of this.batches.values()) P = Math.max(P, b.pastLength);
    return P;
  }

  /**
   * Every slot in order: the row holding it (prefilling or decoding, not ended), or null when free.
   * A row keeps its slot number for its whole life; the numbers say nothing of batch positions.
   */
  slots(): (SlotRow | null)[] {
    const out: (SlotRow | null)[] = new Array<SlotRow | null>(this.maxRows).fill(null);
    for (const [row, i] of this.slotOf) if (!row.done) out[i] = { promptTokens: row.ctx.length - row.ids.length, decoded: row.ids.length, budget: row.budget };
    return out;
  }

  /** running batches: one per variant with rows on its memories, plus the plain model's */
  get batchCount(): number {
    return this.batches.size;
  }

  /**
   * Decodes `prompts`, each under its options (one variant for all; onEnd is called as each ends),
   * as rows of the shared batch. Every prompt is checked first: a bad one rejects the call with
   * nothing queued.
   */
  generate(prompts: readonly (readonly number[])[], opts: readonly GenerateOpts[]): Promise<GenerateOutput[]> {
    if (opts.length !== prompts.length) throw new WiseError('WISE_INTERNAL', `DecodeScheduler: ${prompts.length} prompts but ${opts.length} option sets`);
    const variant = opts[0]?.variant;
    if (opts.some((o) => o.variant !== variant || o.useCache === false)) throw new WiseError('WISE_INTERNAL', 'DecodeScheduler: every row must use the same variant, with the cache');
    prompts.forEach((p) => this.m.checkPrompt(p));
    const outs = prompts.map((p, i) => {
      const o = opts[i]!;
      return new Promise<GenerateOutput>((resolve, reject) => {
        const row: DecodeRow = decodeRow(p, { ...o, onEnd: (out) => settle(out) }, this.m.contextLength, this.m.eosIds, false);
        // the row's caller hears of its end once: its output, or what its onToken or onEnd threw
        const settle = (out: GenerateOutput): void => {
          if (row.error !== undefined) return reject(row.error);
          try {
            o.onEnd?.(out);
          } catch (e) {
            return reject(e);
          }
          resolve(out);
        };
        if (row.budget <= 0 || o.signal?.aborted) {
          row.done = true;
          row.o.onEnd?.(rowOutput(row));
        } else this.waiting.push({ row, variant, resolve, reject });
      });
    });
    void this.loop();
    return Promise.all(outs);
  }

  private async loop(): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      while (this.load.running > 0 || this.waiting.length > 0) {
        const ended = new Set<DecodeRow>();
        for (const [v, batch] of this.batches) {
          for (const r of batch.dropEnded()) ended.add(r), this.slotOf.delete(r);
          if (batch.size === 0) this.batches.delete(v);
        }
        // rows that ended in the same step are reported in arrival order, whatever batch they were in
        for (const [row] of this.admitted) if (ended.has(row)) row.o.onEnd?.(rowOutput(row));
        this.forget();
        // the new rows' prefills run beside the running batches' steps (one batch per variant):
        // ORT runs a session on the main thread (onnxruntime-node: run inside setImmediate), one call
        // per turn of the event loop, so a prefill awaited on its own would cost the running rows a
        // turn, which an edit trained in process (its own calls, queued in the same turns; engine.train_process
        // off) makes long
        const [fresh] = await Promise.all([this.prefills(), Promise.all([...this.batches].map(([v, b]) => this.step(v, b)))]);
        for (const [v, batch] of fresh) {
          const plain = batch.takePlain();
          if (plain) this.join(undefined, plain);
          if (batch.size > 0) this.join(v, batch);
        }
      }
    } finally {
      this.looping = false;
    }
  }

  /** One step of the batch of `v`; a failed step (or a callback that threw inside it) fails the rows it ran. */
  private async step(v: Variant | undefined, batch: DecodeBatch): Promise<void> {
    try {
      await batch.step();
    } catch (e) {
      this.fail(batch.members.flatMap((r) => this.admitted.get(r) ?? []), e);
      this.batches.delete(v);
    }
  }

  /**
   * Takes waiting rows in arrival order while there is room, and runs each variant's new rows as
   * one prefill; the caller joins the batches it returns to the running ones.
   */
  private async prefills(): Promise<[Variant | undefined, DecodeBatch][]> {
    for (const j of this.waiting) if (j.row.o.signal?.aborted) (j.row.done = true), j.row.o.onEnd?.(rowOutput(j.row));
    this.waiting = this.waiting.filter((j) => !j.row.done);
    let room = this.maxRows - this.load.running;
    const groups = new Map<Variant | undefined, Job[]>();
    const longest = new Map<Variant | undefined, number>();
    for (const j of this.waiting) {
      if (room <= 0) break;
      const g = groups.get(j.variant) ?? [];
      const L = Math.max(longest.get(j.variant) ?? 0, j.row.ctx.length);
      if (g.length > 0 && (g.length + 1) * L > (j.variant?.maxTokens ?? Infinity)) break; // the prefill's token cap: the rest waits
      g.push(j);
      groups.set(j.variant, g);
      longest.set(j.variant, L);
      room--;
    }
    const taken = new Set([...groups.values()].flat());
    this.waiting = this.waiting.filter((j) => !taken.has(j));
    // each taken row gets the lowest free slot: room ≤ maxRows − running, and every running row holds one
    for (const j of taken) {
      const used = new Set(this.slotOf.values());
      let i = 0;
      while (used.has(i)) i++;
      this.slotOf.set(j.row, i);
    }
    const fresh = await Promise.all(
      [...groups].map(async ([v, take]): Promise<[Variant | undefined, DecodeBatch][]> => {
        try {
          const batch = await DecodeBatch.prefill(this.m, take.map((j) => j.row), v);
          for (const j of take) this.admitted.set(j.row, j);
          return [[v, batch]];
        } catch (e) {
          this.fail(take, e);
          return [];
        }
      }),
    );
    return fresh.flat();
  }

  /** Adds `fresh`'s rows to the running batch of `v` (or makes it that batch). */
  private join(v: Variant | undefined, fresh: DecodeBatch): void {
    const running = this.batches.get(v);
    if (running) running.merge(fresh);
    else this.batches.set(v, fresh);
  }

  /** Drops the jobs of rows that have left their batch. */
  private forget(): void {
    for (const [row] of this.admitted) if (row.done) this.admitted.delete(row);
  }

  private fail(jobs: readonly Job[], e: unknown): void {
    for (const j of jobs) {
      j.row.done = true;
      this.admitted.delete(j.row);
      this.slotOf.delete(j.row);
      j.reject(e);
    }
  }
}
