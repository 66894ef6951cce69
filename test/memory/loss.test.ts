/** The activation-margin loss L_a on hand-made scores, run through onnxruntime. */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/index.js';
import { tensorData } from '../../src/graph/types.js';
import { Engine } from '../../src/engine/index.js';
import { marginLoss } from '../../src/memory/loss.js';

const engine = new Engine({ intraOpNumThreads: 1 });
async function la(scores: number[], isEdit: number[], p = { alpha: 5, beta: 20, gamma: 10 }): Promise<number> {
  const g = new Graph({ floatType: 'float64' });
  const s = g.input('s', 'float64', [scores.length]);
  const e = g.input('e', 'float64', [scores.length]);
  g.output('l', marginLoss(s, e, p));
  const out = await engine.run(g, { s: tensorData('float64', [scores.length], scores), e: tensorData('float64', [scores.length], isEdit) });
  return (out.l!.data as Float64Array)[0]!;
}

describe('WISE margin loss', () => {
  it('is zero when edits score above β, the irrelevant row below α, with margin γ', async () => {
    expect(await la([25, 30, 2], [1, 1, 0])).toBe(0);
  });
  it('averages each hinge over its positive entries only', async () => {
    // out = 8: upper = 8 − 5 = 3; margin entries out − in + 10 = [−7, 3] → mean over positive = 3;
    // lower entries 20 − in = [−5, 5] → 5. Total 11.
    expect(await la([25, 15, 8], [1, 1, 0])).toBeCloseTo(11, 12);
    // all edit rows low: lower = mean(20 − 1, 20 − 3) = 18; margin = mean(2 − 1 + 10, 2 − 3 + 10) = 10; upper 0
    expect(await la([1, 3, 2], [1, 1, 0])).toBeCloseTo(28, 12);
  });
});

describe('WISE margin loss with several irrelevant rows', () => {
  it('runs the margin over every (irrelevant, edit) pair and the upper bound over every irrelevant row', async () => {
    // irrelevant rows 8 and 2, edit rows 25 and 15:
    // pairs out − in + 10: (8,25) −7, (8,15) 3, (2,25) −13, (2,15) −3 → mean over positive = 3
    // upper out − 5: 3, −3 → 3; lower 20 − in: −5, 5 → 5. Total 11.
    expect(await la([25, 8, 15, 2], [1, 0, 1, 0])).toBeCloseTo(11, 12);
  });
});
