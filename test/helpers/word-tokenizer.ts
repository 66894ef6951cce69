/** A word tokenizer for pure row tests: one id (from 10) per distinct piece with its leading space. */
export function words(): (text: string) => number[] {
  const vocab = new Map<string, number>();
  return (text) => (text.match(/\s?\S+/g) ?? []).map((p) => vocab.get(p) ?? (vocab.set(p, vocab.size + 10), vocab.size + 9));
}
