/**
 * Structured output fields of the OpenAI routes, as the three server families spell them:
 *
 *   response_format  {"type": "text"} (nothing), {"type": "json_object"} (any JSON object), or
 *                    {"type": "json_schema", "json_schema": {"name", "schema", "strict"?, "description"?}}  (OpenAI)
 *   guided_json      a schema, or its JSON text;   guided_choice  a non-empty array of strings;
 *   guided_regex     a regular expression the whole output matches (src/model/constrain/regex.ts)  (vLLM)
 *   guided_grammar   a GBNF grammar (xgrammar's EBNF; gbnf.ts), or a Lark one (lark.ts)             (vLLM)
 *   json_schema      a schema;   grammar  a GBNF grammar                                         (llama.cpp)
 *
 * At most one per request. A schema outside the supported subset (src/model/constrain/json-schema.ts)
 * is a 400 naming the keyword and its path; guided_choice's output is one of the strings verbatim,
 * as vLLM's; a grammar's output is what its root rule derives.
 */
import { choiceNode, compileSchema, type SchemaNode } from '../model/constrain/json-schema.js';
import { jsonRecognizer } from '../model/constrain/json-recognizer.js';
import { regexRecognizer } from '../model/constrain/regex-dfa.js';
import { grammarRecognizer } from '../model/constrain/grammar.js';
import { larkOrGbnfRecognizer } from '../model/constrain/lark.js';
import type { Recognizer } from '../model/constrain/recognizer.js';
import { isWiseError } from '../util/errors.js';
import { ApiError } from './errors.js';
import { isObject } from '../util/is-object.js';

export interface StructuredOutput {
  /** the language the output stays in (shared by the request's choices; each keeps its own state) */
  recognizer: Recognizer<unknown>;
  /** the request field it came from */
  field: string;
}

const json = (node: SchemaNode, field: string): StructuredOutput => ({ recognizer: jsonRecognizer(node) as Recognizer<unknown>, field });

/** `make()`, with WISE_BAD_SCHEMA as a 400 naming `field`. */
function compiled<T>(make: () => T, field: string): T {
  try {
    return make();
  } catch (e) {
    if (isWiseError(e) && e.code === 'WISE_BAD_SCHEMA') throw new ApiError(400, 'invalid_value', `${field}: ${e.message}`, field);
    throw e;
  }
}

const schemaOf = (v: unknown, field: string): SchemaNode => compiled(() => compileSchema(v), field);

function fromResponseFormat(v: unknown): StructuredOutput | undefined {
  if (!isObject(v)) throw new ApiError(400, 'invalid_value', 'response_format: expected an object such as {"type": "json_object"}', 'response_format');
  switch (v.type) {
    case 'text':
      return undefined;
    case 'json_object':
      return json(schemaOf({ type: 'object' }, 'response_format'), 'response_format');
    case 'json_schema': {
      const js = v.json_schema;
      if (!isObject(js)) throw new ApiError(400, 'invalid_value', 'response_format.json_schema: expected an object {"name", "schema"}', 'response_format.json_schema');
      if (typeof js.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(js.name)) {
        throw new ApiError(400, 'invalid_value', 'response_format.json_schema.name: required, 1–64 letters, digits, _ or -', 'response_format.json_schema.name');
      }
      return json(schemaOf(js.schema ?? {}, 'response_format.json_schema.schema'), 'response_format');
    }
    default:
      throw new ApiError(400, 'invalid_value', `response_format.type: ${JSON.stringify(v.type)} is not one of text, json_object, json_schema`, 'response_format.type');
  }
}

const FIELDS = ['response_format', 'guided_json', 'guided_choice', 'guided_regex', 'guided_grammar', 'grammar', 'json_schema'] as const;
/** recent structured outputs by their request fields, newest last (recognisers are immutable and shared) */
const recent = new Map<string, StructuredOutput | undefined>();
const RECENT = 32;

/**
 * The request's structured output, if it asks for one; 400 for a bad or second one. The last RECENT are kept by the
 * text of their fields (as xgrammar and llama.cpp keep compiled grammars), so a repeated schema skips compiling and
 * its recogniser keeps the plain tokens its states allow (token-constraint.ts: plainWalk and plainKey caches) across requests.
 */
export function structuredOutput(body: Record<string, unknown>): StructuredOutput | undefined {
  const key = JSON.stringify(FIELDS.map((k) => body[k] ?? null));
  if (recent.has(key)) {
    const hit = recent.get(key);
    recent.delete(key);
    recent.set(key, hit);
    return hit;
  }
  const out = buildStructured(body);
  recent.set(key, out);
  if (recent.size > RECENT) recent.delete(recent.keys().next().value!);
  return out;
}

function buildStructured(body: Record<string, unknown>): StructuredOutput | undefined {
  const found: StructuredOutput[] = [];
  const given = (k: string): boolean => body[k] !== undefined && body[k] !== null;
  if (given('response_format')) {
    const s = fromResponseFormat(body.response_format);
    if (s) found.push(s);
  }
  if (given('guided_json')) {
    let v = body.guided_json;
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v) as unknown;
      } catch {
        throw new ApiError(400, 'invalid_value', 'guided_json: a string that is not JSON (give the schema as an object or its JSON text)', 'guided_json');
      }
    }
    found.push(json(schemaOf(v, 'guided_json'), 'guided_json'));
  }
  if (given('guided_choice')) {
    const c = body.guided_choice;
    if (!Array.isArray(c) || c.length === 0 || c.some((x) => typeof x !== 'string' || x.length === 0)) {
      throw new ApiError(400, 'invalid_value', 'guided_choice: expected a non-empty array of non-empty strings', 'guided_choice');
    }
    found.push({ recognizer: jsonRecognizer(choiceNode(c as string[]), true) as Recognizer<unknown>, field: 'guided_choice' });
  }
  if (given('guided_regex')) {
    if (typeof body.guided_regex !== 'string' || body.guided_regex === '') throw new ApiError(400, 'invalid_value', 'guided_regex: expected a non-empty string (a regular expression)', 'guided_regex');
    const pattern = body.guided_regex;
    found.push({ recognizer: compiled(() => regexRecognizer(pattern) as Recognizer<unknown>, 'guided_regex'), field: 'guided_regex' });
  }
  for (const field of ['guided_grammar', 'grammar']) {
    if (!given(field)) continue;
    const text = body[field];
    const what = field === 'grammar' ? 'a GBNF grammar with a root rule' : 'a GBNF grammar with a root rule, or a Lark grammar';
    if (typeof text !== 'string' || text.trim() === '') throw new ApiError(400, 'invalid_value', `${field}: expected a non-empty string (${what})`, field);
    // vLLM's guided_grammar takes Lark too (told apart as vLLM does: no ::= anywhere); llama.cpp's grammar is GBNF
    const make = field === 'grammar' ? grammarRecognizer : larkOrGbnfRecognizer;
    found.push({ recognizer: compiled(() => make(text) as Recognizer<unknown>, field), field });
  }
  if (given('json_schema')) found.push(json(schemaOf(body.json_schema, 'json_schema'), 'json_schema'));
  if (found.length > 1) throw new ApiError(400, 'invalid_value', `${found[1]!.field}: only one structured output per request (${found[0]!.field} is given too)`, found[1]!.field);
  return found[0];
}
