/**
 * WiseError: every error raised by wise-edit carries a stable `code` (asserted by tests,
 * mapped to HTTP status by the server and to exit codes by the CLI) and optional
 * `details` naming what was wrong (a file, a field, a shape).
 */

/** The code list. Add new codes here; never reuse or rename one. */
export const ERROR_CODES = [
  // input / files
  'WISE_FILE_NOT_FOUND',
  'WISE_FILE_TRUNCATED',
  'WISE_SAFETENSORS_HEADER',
  'WISE_SAFETENSORS_DTYPE',
  'WISE_SHAPE_MISMATCH',
  'WISE_DTYPE_MISMATCH',
  'WISE_MISSING_WEIGHT',
  'WISE_UNSUPPORTED_MODEL',
  'WISE_BAD_CONFIG',
  'WISE_TOKEN_OUT_OF_RANGE',
  'WISE_TOKENIZER',
  'WISE_CONTEXT_LENGTH',
  'WISE_BAD_SCHEMA',
  // graph / engine
  'WISE_GRAPH',
  'WISE_NO_GRAD_RULE',
  'WISE_FEED_MISSING',
  'WISE_FEED_UNKNOWN',
  'WISE_ENGINE',
  // merge
  'WISE_MERGE_PARAM',
  'WISE_MERGE_UNKNOWN_METHOD',
  'WISE_MERGE_NAN',
  // store / edits
  'WISE_STORE_LOCKED',
  'WISE_STORE_CORRUPT',
  'WISE_STORE_FINGERPRINT',
  'WISE_STORE_VERSION',
  'WISE_NOT_FOUND',
  'WISE_BAD_REQUEST',
  'WISE_DATASET',
  // generic
  'WISE_USAGE',
  'WISE_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class WiseError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WiseError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isWiseError(e: unknown, code?: ErrorCode): e is WiseError {
  return e instanceof WiseError && (code === undefined || e.code === code);
}

/** Throws a WiseError when `cond` is false. Use instead of bare asserts. */
export function check(cond: unknown, code: ErrorCode, message: string, details?: Record<string, unknown>): asserts cond {
  if (!cond) throw new WiseError(code, message, details);
}
