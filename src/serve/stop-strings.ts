/**
 * Stop strings over decoded text (OpenAI's `stop`): where the first one starts, and how much of
 * the text's end must be held back from a stream because a stop string may be starting there.
 * Pure string functions.
 */

/**
 * Index of the earliest occurrence of any stop string in `text` that ends after index `after`
 * (the text up to `after` was searched before, or may not stop the text: vLLM's min_tokens), or -1.
 */
export function firstStop(text: string, stops: readonly string[], after = 0): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s, Math.max(0, after - s.length + 1));
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
export function heldBack(text: string, stops: readonly string[]): number {
  let n = 0;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, text.length); k > n; k--) {
      if (text.endsWith(s.slice(0, k))) {
        n = k;
        break;
      }
    }
  }
  return n;
}
