/**
 * The targets' lines of a bench run: each check prints PASS / MISS when rated, "info" when not,
 * and a rated miss is counted (the run ends with "N target(s) missed").
 */
export interface Verdicts {
  /** one line per check, in order */
  lines: string[];
  /** rated checks that failed */
  misses: number;
  check(ok: boolean, text: string, rated: boolean): void;
}

export function verdicts(): Verdicts {
  const v: Verdicts = {
    lines: [],
    misses: 0,
    check(ok, text, rated) {
      if (rated && !ok) v.misses++;
      v.lines.push(`${rated ? (ok ? 'PASS' : 'MISS') : 'info'}  ${text}`);
    },
  };
  return v;
}
