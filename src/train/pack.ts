/**
 * Packs tokenized lines into fixed (B, T) training rows. Whole lines only: each row starts at
 * a line boundary (as a prompt does at inference, with no BOS) and holds as many
 * `line + eos` as fit; the rest is padding whose labels are ignored (-100).
 * Labels are next-token targets: labels[t] = ids[t+1] within the row's real tokens.
 */
import type { Rng } from '../util/rng.js';

export interface PackedRow {
  ids: number[];
  labels: number[];
}

export function packRows(lines: readonly number[][], T: number, eos: number, pad: number): PackedRow[] {
  const rows: PackedRow[] = [];
  let cur: number[] = [];
  const flush = (): void => {
    if (cur.length === 0) return;
    const ids = cur.concat(new Array<number>(T - cur.length).fill(pad));
    const labels = new Array<number>(T).fill(-100);
    for (let t = 0; t < cur.length - 1; t++) labels[t] = cur[t + 1] as number;
    rows.push({ ids, labels });
    cur = [];
  };
  for (const l of lines) {
    const piece = [...l, eos].slice(0, T);
    if (cur.length + piece.length > T) flush();
    cur.push(...piece);
  }
  flush();
  return rows;
}

/** One epoch's batches: lines shuffled with `rng`, packed, grouped into batches of B rows. */
export function epochBatches(lines: readonly number[][], B: number, T: number, eos: number, pad: number, rng: Rng): PackedRow[][] {
  const order = rng.shuffle(lines.map((_, i) => i));
  const rows = packRows(order.map((i) => lines[i] as number[]), T, eos, pad);
  const batches: PackedRow[][] = [];
  for (let i = 0; i + B <= rows.length; i += B) batches.push(rows.slice(i, i + B));
  return batches;
}
