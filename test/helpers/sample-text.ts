/**
 * Random texts a recogniser accepts, by a walk over an alphabet: at each point any character that keeps the text
 * alive, with `closer` (when it keeps it alive) taken now and then, and always past `soft` characters, so walks end.
 * For tests that judge a recogniser's outputs with an independent validator.
 */
import type { Recognizer } from '../../src/model/constrain/recognizer.js';
import { Rng } from '../../src/util/rng.js';

export function sampleTexts<S>(rec: Recognizer<S>, opts: { alphabet: string; closers: string; n: number; seed: number; soft?: number; maxSteps?: number }): string[] {
  const rng = new Rng(opts.seed);
  const alphabet = [...opts.alphabet];
  const out: string[] = [];
  for (let run = 0; run < opts.n; run++) {
    let s = rec.initial();
    let text = '';
    for (let k = 0; k < (opts.maxSteps ?? 400) && !(rec.finished(s) || (rec.accepting(s) && rng.int(3) === 0)); k++) {
      const next = alphabet.map((ch) => [ch, rec.step(s, ch)] as const).filter((x): x is readonly [string, S] => x[1] !== null);
      if (next.length === 0) {
        if (rec.accepting(s)) break; // complete, and nothing may follow (a top-level 0)
        throw new Error(`stuck after ${JSON.stringify(text)}`);
      }
      const closing = next.filter(([ch]) => opts.closers.includes(ch));
      const pool = closing.length > 0 && (rng.int(3) === 0 || text.length > (opts.soft ?? 40)) ? closing : next;
      const [ch, st] = pool[rng.int(pool.length)]!;
      text += ch;
      s = st;
    }
    if (rec.accepting(s)) out.push(text);
  }
  return out;
}
