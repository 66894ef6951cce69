/**
 * The JSON Schema subset that constrained decoding (json-machine.ts) follows, compiled into a small
 * tree of nodes. Supported, as OpenAI's structured outputs and vLLM's guided_json use them:
 *
 *   type (one or a list), properties, required, additionalProperties (false, true or a schema),
 *   items, minItems, maxItems, minLength, maxLength (characters; an escape counts as one), enum,
 *   const, anyOf, and the annotations title, description,
 *   default, examples, format, $schema, $id, $comment, strict, which do not constrain.
 *
 * An object with `properties` and no `additionalProperties` takes only its declared keys (OpenAI's
 * strict mode requires `additionalProperties: false` there anyway); keys may come in any order, each
 * at most once, and `}` waits for every required key. Every other keyword (pattern, minLength,
 * minimum, $ref, oneOf, allOf, …) is refused with WISE_BAD_SCHEMA naming it and its path, rather
 * than ignored: the output would not be guaranteed to match.
 */
import { WiseError } from '../../util/errors.js';

export type SchemaNode =
  | { kind: 'any' }
  | { kind: 'union'; of: SchemaNode[] }
  | { kind: 'object'; props: ReadonlyMap<string, SchemaNode>; required: ReadonlySet<string>; extra: SchemaNode | null }
  | { kind: 'array'; items: SchemaNode; min: number; max: number }
  | { kind: 'string'; min: number; max: number }
  | { kind: 'number'; integer: boolean }
  /** enum, const, true/false/null: the values' JSON texts, matched exactly */
  | { kind: 'literal'; texts: readonly string[] };

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', 'format', '$schema', '$id', '$comment', 'strict']);
const KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'minLength', 'maxLength', 'enum', 'const', 'anyOf']);
const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
type TypeName = (typeof TYPES)[number];

export const ANY: SchemaNode = { kind: 'any' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(path: string, message: string): WiseError {
  return new WiseError('WISE_BAD_SCHEMA', `JSON schema at ${path}: ${message}`, { path });
}

/** Compiles `schema` (true or {} = any JSON value); throws WISE_BAD_SCHEMA naming the keyword and its path. */
export function compileSchema(schema: unknown, path = '#'): SchemaNode {
  if (schema === true) return ANY;
  if (!isObject(schema)) throw bad(path, `expected an object (a schema), got ${JSON.stringify(schema)}`);
  for (const k of Object.keys(schema)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) throw bad(path, `keyword "${k}" is not supported (supported: ${[...KEYWORDS].join(', ')})`);
  }
  const parts: SchemaNode[] = [];
  if (schema.enum !== undefined || schema.const !== undefined) {
    const values = schema.const !== undefined ? [schema.const] : schema.enum;
    if (!Array.isArray(values) || values.length === 0) throw bad(`${path}/enum`, 'must be a non-empty array');
    parts.push({ kind: 'literal', texts: values.map((v) => JSON.stringify(v)) });
    return parts[0]!;
  }
  if (schema.anyOf !== undefined) {
    if (!Array.isArray(schema.anyOf) || schema.anyOf.length === 0) throw bad(`${path}/anyOf`, 'must be a non-empty array of schemas');
    const rest = Object.fromEntries(Object.entries(schema).filter(([k]) => k !== 'anyOf' && !ANNOTATIONS.has(k)));
    if (Object.keys(rest).length > 0) throw bad(path, `anyOf beside ${Object.keys(rest).join(', ')}: put those inside each alternative`);
    return { kind: 'union', of: schema.anyOf.map((s, i) => compileSchema(s, `${path}/anyOf/${i}`)) };
  }
  const types = typesOf(schema, path);
  for (const t of types) parts.push(typeNode(t, schema, path));
  return parts.length === 1 ? parts[0]! : { kind: 'union', of: parts };
}

function typesOf(schema: Record<string, unknown>, path: string): TypeName[] {
  const t = schema.type;
  if (t === undefined) {
    // no type: implied by the keywords present, else any value
    if (schema.properties !== undefined || schema.required !== undefined || schema.additionalProperties !== undefined) return ['object'];
    if (schema.items !== undefined || schema.minItems !== undefined || schema.maxItems !== undefined) return ['array'];
    if (schema.minLength !== undefined || schema.maxLength !== undefined) return ['string'];
    return [...TYPES].filter((x) => x !== 'integer');
  }
  const list = Array.isArray(t) ? t : [t];
  if (list.length === 0) throw bad(`${path}/type`, 'an empty list of types');
  for (const x of list) if (!(TYPES as readonly unknown[]).includes(x)) throw bad(`${path}/type`, `unknown type ${JSON.stringify(x)} (expected ${TYPES.join('|')})`);
  return [...new Set(list as TypeName[])];
}

function typeNode(t: TypeName, schema: Record<string, unknown>, path: string): SchemaNode {
  switch (t) {
    case 'string': {
      const min = count(schema.minLength, `${path}/minLength`, 0);
      const max = count(schema.maxLength, `${path}/maxLength`, Infinity);
      if (min > max) throw bad(path, `minLength ${min} > maxLength ${max}`);
      return { kind: 'string', min, max };
    }
    case 'number':
    case 'integer':
      return { kind: 'number', integer: t === 'integer' };
    case 'boolean':
      return { kind: 'literal', texts: ['true', 'false'] };
    case 'null':
      return { kind: 'literal', texts: ['null'] };
    case 'array': {
      const min = count(schema.minItems, `${path}/minItems`, 0);
      const max = count(schema.maxItems, `${path}/maxItems`, Infinity);
      if (min > max) throw bad(path, `minItems ${min} > maxItems ${max}`);
      return { kind: 'array', items: schema.items === undefined ? ANY : compileSchema(schema.items, `${path}/items`), min, max };
    }
    case 'object': {
      const props = new Map<string, SchemaNode>();
      if (schema.properties !== undefined) {
        if (!isObject(schema.properties)) throw bad(`${path}/properties`, 'must be an object of schemas');
        for (const [k, s] of Object.entries(schema.properties)) props.set(k, compileSchema(s, `${path}/properties/${k}`));
      }
      const req = schema.required ?? [];
      if (!Array.isArray(req) || req.some((k) => typeof k !== 'string')) throw bad(`${path}/required`, 'must be an array of property names');
      const ap = schema.additionalProperties;
      const extra = ap === false ? null : ap === undefined ? (props.size > 0 ? null : ANY) : compileSchema(ap, `${path}/additionalProperties`);
      for (const k of req as string[]) if (!props.has(k) && extra === null) throw bad(`${path}/required`, `"${k}" is required but not among the properties`);
      return { kind: 'object', props, required: new Set(req as string[]), extra };
    }
  }
}

function count(v: unknown, path: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad(path, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Exactly one of `choices`, as plain text (vLLM's guided_choice: no quotes, no whitespace around). */
export function choiceNode(choices: readonly string[]): SchemaNode {
  return { kind: 'literal', texts: [...choices] };
}
