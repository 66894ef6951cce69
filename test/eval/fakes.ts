/**
 * TEST DOUBLES for the eval harness (no model anywhere):
 *
 * - `WordTokenizer`: GPT-2-like pre-tokenization into pieces with their leading space (/\s?\S+/),
 *   one id per distinct piece, optional BOS. So "The capital is" + " " + "Paris" ends in " Paris".
 * - `FakeEditMethod`: a deterministic stand-in for an editor. Its "model" is a lookup table:
 *     • a row whose prompt ids were edited → argmax = the edit's target ids, p(target) = 0.9 each;
 *     • otherwise the base model: argmax = target ids except the first token (predicted as 0), p = 0.1;
 *     • with more than `leakAbove` edits active, every unedited row's argmax becomes 999 (locality damage);
 *     • it keeps at most `capacity` edits (oldest forgotten), which makes edit-all-then-evaluate visible;
 *     • `generalize` also registers the rephrase prompt, so Gen. follows Rel.
 *   Every call is appended to `log` ("reset", "edit:<id>|<irrelevant>", "score:<rows>@<active edits>").
 */
import type { EvalRecord } from '../../src/eval/datasets.js';
import type { EditMethod } from '../../src/eval/lifelong.js';
import type { ScoreOut, ScoreRow, Scorer } from '../../src/eval/scorer.js';

export class WordTokenizer {
  private readonly vocab = new Map<string, number>();
  constructor(readonly bos?: number) {}

  id(piece: string): number {
    let id = this.vocab.get(piece);
    if (id === undefined) this.vocab.set(piece, (id = this.vocab.size + 10));
    return id;
  }

  encode(text: string): number[] {
    const ids = (text.match(/\s?\S+/g) ?? []).map((p) => this.id(p));
    return this.bos === undefined ? ids : [this.bos, ...ids];
  }
}

export interface FakeOptions {
  capacity?: number;
  leakAbove?: number;
  generalize?: boolean;
}

export class FakeEditMethod implements EditMethod {
  readonly log: string[] = [];
  private edits: { key: string; target: number[] }[] = [];
  counts = { reset: 0, edit: 0, score: 0 };

  constructor(
    readonly name: string,
    readonly tok: WordTokenizer,
    readonly opts: FakeOptions = {},
  ) {}

  async reset(): Promise<void> {
    this.edits = [];
    this.counts.reset++;
    this.log.push('reset');
  }

  async applyEdit(rec: EvalRecord, irrelevant?: string): Promise<void> {
    this.counts.edit++;
    this.log.push(`edit:${rec.id}|${irrelevant ?? ''}`);
    const target = this.tok.encode(`${rec.prompt} ${rec.target}`).slice(this.tok.encode(rec.prompt).length);
    this.edits.push({ key: this.tok.encode(rec.prompt).join(','), target });
    if (this.opts.generalize && rec.rephrase) this.edits.push({ key: this.tok.encode(rec.rephrase).join(','), target });
    const cap = (this.opts.capacity ?? Infinity) * (this.opts.generalize ? 2 : 1);
    while (this.edits.length > cap) this.edits.shift();
  }

  /** Snapshot of the current state (so a pre scorer cannot see later edits). */
  scorer(): Scorer {
    const table = new Map(this.edits.map((e) => [e.key, e.target]));
    const active = this.opts.generalize ? Math.ceil(this.edits.length / 2) : this.edits.length;
    const leak = active > (this.opts.leakAbove ?? Infinity);
    return {
      encode: (t) => this.tok.encode(t),
      argmaxAndLogprobs: async (rows: ScoreRow[]): Promise<ScoreOut[]> => {
        this.counts.score++;
        this.log.push(`score:${rows.length}@${active}`);
        return rows.map((r) => {
          const edited = table.get(r.promptIds.join(','));
          if (edited) {
            return { argmax: r.targetIds.map((t, j) => edited[j] ?? -1), targetLogprobs: r.targetIds.map((t, j) => Math.log(edited[j] === t ? 0.9 : 0.1)) };
          }
          return {
            argmax: r.targetIds.map((t, j) => (leak ? 999 : j === 0 ? 0 : t)),
            targetLogprobs: r.targetIds.map(() => Math.log(0.1)),
          };
        });
      },
    };
  }
}

/** n synthetic ZsRE-kind records with distinct prompts. */
export function fakeRecords(n: number): EvalRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `zsre:${i}`,
    kind: 'zsre' as const,
    prompt: `What is q${i}?`,
    target: `a${i}`,
    subject: `q${i}`,
    rephrase: `Tell me q${i}?`,
    locality: { prompt: `nq question: l${i}`, answer: `la${i} lb${i}` },
  }));
}
