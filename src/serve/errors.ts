/**
 * HTTP errors in the OpenAI envelope: `{"error":{message,type,param,code}}`.
 * Everything thrown inside a route ends up in `toApiError`, which maps
 *   - ApiError (raised by the server itself) as is;
 *   - fastify/Ajv validation errors → 400 with `param` naming the field
 *     (codes: invalid_type, invalid_value, missing_field, unknown_field);
 *   - fastify body errors → 400 invalid_json, 413 body_too_large, 415 unsupported_media_type;
 *   - WiseError codes → their HTTP status (WISE_BAD_REQUEST 400, WISE_NOT_FOUND 404,
 *     WISE_STORE_LOCKED 503, anything else 500 server_error);
 *   - anything else → 500 server_error.
 */
import { isWiseError } from '../util/errors.js';

export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'unavailable_error'
  | 'not_supported_error'
  | 'server_error';

export interface ApiErrorBody {
  message: string;
  type: ApiErrorType;
  param: string | null;
  code: string | null;
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly code: string;

  constructor(status: number, code: string, message: string, param: string | null = null, type?: ApiErrorType) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.param = param;
    this.type = type ?? defaultType(status);
  }

  body(): ApiErrorBody {
    return { message: this.message, type: this.type, param: this.param, code: this.code };
  }
}

/** A 400 invalid_value naming `param` (a field, or a path into one): "param: message". */
export const badValue = (param: string, message: string): ApiError => new ApiError(400, 'invalid_value', `${param}: ${message}`, param);

function defaultType(status: number): ApiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 503) return 'unavailable_error';
  if (status === 501) return 'not_supported_error'; // llama.cpp's type for what the loaded model cannot do (/infill without FIM tokens)
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** One Ajv error object, as fastify hands it over in `err.validation`. */
interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** '/messages/0/role' → 'messages[0].role' */
export function jsonPointerToParam(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

function join(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

/** Maps the first Ajv error to an ApiError naming the offending field. */
export function fromValidation(errors: AjvError[], context: string | undefined): ApiError {
  const e = errors[0];
  const where = context === 'querystring' ? 'query' : (context ?? 'body');
  if (!e) return new ApiError(400, 'invalid_value', `invalid ${where}`);
  const base = jsonPointerToParam(e.instancePath);
  const label = (p: string): string => (p === '' ? where : p);
  switch (e.keyword) {
    case 'type': {
      const param = base === '' ? null : base;
      const want = String(e.params.type ?? '').split(',').filter(Boolean).join(' or ');
      return new ApiError(400, 'invalid_type', `${label(base)}: must be ${want || 'of another type'}`, param);
    }
    case 'required': {
      const p = join(base, String(e.params.missingProperty));
      return new ApiError(400, 'missing_field', `${p}: is required`, p);
    }
    case 'additionalProperties': {
      const p = join(base, String(e.params.additionalProperty));
      return new ApiError(400, 'unknown_field', `${p}: unknown field`, p);
    }
    case 'pattern':
      return new ApiError(400, 'invalid_value', `${label(base)}: must not be empty or blank`, base === '' ? null : base);
    default:
      return new ApiError(400, 'invalid_value', `${label(base)}: ${e.message ?? 'is out of range'}`, base === '' ? null : base);
  }
}

const WISE_STATUS: Record<string, [number, string]> = {
  WISE_BAD_REQUEST: [400, 'invalid_value'],
  WISE_USAGE: [400, 'invalid_value'],
  WISE_TOKEN_OUT_OF_RANGE: [400, 'invalid_value'],
  WISE_CONTEXT_LENGTH: [400, 'context_length_exceeded'], // OpenAI's code for the same refusal
  WISE_BAD_SCHEMA: [400, 'invalid_value'],
  WISE_NOT_FOUND: [404, 'not_found'],
  WISE_STORE_LOCKED: [503, 'store_locked'],
};

const FASTIFY_STATUS: Record<string, [number, string, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json', 'the request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_json', 'the request body is empty; a JSON object was expected'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large', 'the request body is larger than the server accepts'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'send the body as application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_content_length', 'the Content-Length does not match the body'],
};

/** Any thrown value → ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (isWiseError(err)) {
    const m = WISE_STATUS[err.code];
    const field = typeof err.details.field === 'string' ? err.details.field : null;
    if (m) return new ApiError(m[0], m[1], err.message, field);
    return new ApiError(500, 'server_error', `[${err.code}] ${err.message}`, null);
  }
  const e = err as { validation?: AjvError[]; validationContext?: string; code?: string; statusCode?: number; message?: string };
  if (e && Array.isArray(e.validation)) return fromValidation(e.validation, e.validationContext);
  if (e && typeof e.code === 'string') {
    const f = FASTIFY_STATUS[e.code];
    if (f) return new ApiError(f[0], f[1], f[2]);
  }
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, 'bad_request', e.message ?? 'bad request');
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new ApiError(500, 'server_error', msg || 'internal error');
}

export const loadingError = (): ApiError => new ApiError(503, 'model_loading', 'Loading model');
