/** A dataset record's field reader: every error names the file, the record's index and the field (WISE_DATASET). */
import { WiseError } from '../util/errors.js';

type Obj = Record<string, unknown>;

/** Field reader bound to one record, so every error names file, index and field. */
export class Fields {
  constructor(
    readonly file: string,
    readonly index: number,
    readonly rec: Obj,
  ) {}

  fail(field: string, what: string): never {
    throw new WiseError('WISE_DATASET', `${this.file} record ${this.index}: field "${field}" ${what}`, {
      file: this.file,
      index: this.index,
      field,
    });
  }

  /** A required non-empty string at a dotted path (e.g. "requested_rewrite.target_new.str"). */
  str(path: string, opts: { allowEmpty?: boolean } = {}): string {
    const v = this.get(path);
    if (typeof v !== 'string') this.fail(path, v === undefined ? 'is missing' : 'must be a string');
    if (!opts.allowEmpty && v.trim() === '') this.fail(path, 'must not be empty');
    return v;
  }

  optStr(path: string): string | undefined {
    return this.get(path) === undefined ? undefined : this.str(path);
  }

  /** First element of a required non-empty string array. */
  firstOf(path: string): string {
    const v = this.get(path);
    if (!Array.isArray(v) || v.length === 0) this.fail(path, 'must be a non-empty array of strings');
    if (typeof v[0] !== 'string' || v[0].trim() === '') this.fail(`${path}[0]`, 'must be a non-empty string');
    return v[0];
  }

  get(path: string): unknown {
    let cur: unknown = this.rec;
    for (const part of path.split('.')) {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
      cur = (cur as Obj)[part];
    }
    return cur;
  }
}
