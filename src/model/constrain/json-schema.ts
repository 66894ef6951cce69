/**
 * The JSON Schema subset that constrained decoding (json-machine.ts) follows, compiled into a small
 * tree of nodes. Supported, as OpenAI's structured outputs and vLLM's guided_json use them:
 *
 *   type (one or a list), properties, required, additionalProperties (false, true or a schema),
 *   items (false after prefixItems), prefixItems (tuples), minItems, maxItems, minProperties, maxProperties, minLength, maxLength (characters; an escape counts as one), pattern (a search over
 *   the decoded text, regex.ts's subset), minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf (number-bounds.ts), enum,
 *   const, anyOf, oneOf (when its alternatives are proved apart, schema-overlap.ts), $ref into the schema itself ($defs, definitions, recursion), allOf of one schema,
 *   format (date-time, date, time, duration, email, hostname, ipv4, ipv6, uuid enforced as patterns, formats.ts;
 *   any other an annotation), and the annotations title, description, default, examples, $schema, $id, $comment,
 *   strict, which do not constrain.
 *
 * An object with `properties` and no `additionalProperties` takes only its declared keys (OpenAI's
 * strict mode requires `additionalProperties: false` there anyway); keys may come in any order, each
 * at most once, and `}` waits for every required key. uniqueItems holds for scalar items. Every other keyword
 * (propertyNames, contains, …) is refused with WISE_BAD_SCHEMA naming it and its path, rather
 * than ignored: the output would not be guaranteed to match.
 */
import { WiseError, isWiseError } from '../../util/errors.js';
import { compileRegex, type Regex } from './regex.js';
import { formatRegex } from './formats.js';
import { alternativesOf, apart, canonicalJson } from './schema-overlap.js';
import { decOf, viable, MAX_NUMBER_DIGITS, type Bounds } from './number-bounds.js';
import { isObject } from '../../util/is-object.js';

/**
 * The compiled schema. `loose` (object, array, string): the type was implied by the keywords alone (properties,
 * items, pattern, …) — the decoder writes only that type, while JSON Schema itself accepts any other type there.
 */
export type SchemaNode =
  | { kind: 'any' }
  | { kind: 'union'; of: SchemaNode[] }
  /** minProps / maxProps: minProperties / maxProperties (absent: 0 / Infinity) */
  | { kind: 'object'; props: ReadonlyMap<string, SchemaNode>; required: ReadonlySet<string>; extra: SchemaNode | null; minProps?: number; maxProps?: number; loose?: boolean }
  /** item i is prefix[i] (prefixItems: a tuple), then `items`; `items: false` ends the array after the prefix (max) */
  /** unique: uniqueItems (its items are scalars: checked once refs are compiled) */
  | { kind: 'array'; prefix: readonly SchemaNode[]; items: SchemaNode; min: number; max: number; unique?: boolean; loose?: boolean }
  /** pattern: the regular expression the string's (decoded) text matches, anchored as JSON Schema reads it (a search) */
  | { kind: 'string'; min: number; max: number; pattern: Regex | null; loose?: boolean }
  /** bounds: minimum / maximum / exclusive… (number-bounds.ts); a bounded number is written without an exponent */
  | { kind: 'number'; integer: boolean; bounds: Bounds | null }
  /** enum, const, true/false/null: the values' JSON texts, matched exactly */
  | { kind: 'literal'; texts: readonly string[] }
  /** a $ref: `target` is set once the referenced schema is compiled (a recursive schema refers back to itself) */
  | { kind: 'ref'; ref: string; target: SchemaNode | null };

type RefNode = Extract<SchemaNode, { kind: 'ref' }>;

/** One compilation: the root document (where `#/…` pointers start) and its refs, one node per pointer. */
interface Ctx {
  root: unknown;
  refs: Map<string, RefNode>;
  /** each oneOf's union and path: its alternatives are checked apart once every ref is compiled */
  oneOfs: { node: Extract<SchemaNode, { kind: 'union' }>; path: string }[];
  /** each uniqueItems array and path: its items are checked to be scalars once every ref is compiled */
  uniques: { node: Extract<SchemaNode, { kind: 'array' }>; path: string }[];
}

/** keywords that do not constrain ($defs and definitions hold schemas that $ref points into) */
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', 'format', '$schema', '$id', '$comment', 'strict', '$defs', 'definitions', 'discriminator']);
const KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'prefixItems', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'enum', 'const', 'anyOf', 'oneOf', '$ref', 'allOf', 'minProperties', 'maxProperties', 'uniqueItems']);
const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
type TypeName = (typeof TYPES)[number];

export const ANY: SchemaNode = { kind: 'any' };

function bad(path: string, message: string): WiseError {
  return new WiseError('WISE_BAD_SCHEMA', `JSON schema at ${path}: ${message}`, { path });
}

/**
 * Compiles `schema` (true or {} = any JSON value); throws WISE_BAD_SCHEMA naming the keyword and its path.
 * `$ref` takes a JSON pointer into the document (`#`, `#/$defs/Name`, `#/definitions/Name`, …), recursion
 * included, as pydantic writes nested and recursive models; a cycle of refs and anyOfs with no object or array
 * between (a value that would have to start with itself) is refused. `allOf` takes one schema (pydantic v1's
 * wrapper around a $ref).
 */
export function compileSchema(schema: unknown, path = '#'): SchemaNode {
  const ctx: Ctx = { root: schema, refs: new Map(), oneOfs: [], uniques: [] };
  const node = compileIn(schema, path, ctx);
  checkRefCycles(ctx);
  for (const { node: u, path: at } of ctx.oneOfs) {
    u.of.forEach((a, i) =>
      u.of.slice(i + 1).forEach((b, d) => {
        if (!apart(a, b)) throw bad(at, `alternatives ${i} and ${i + 1 + d} may both match one value (nothing proves them apart: a type, an enum/const value, or a required key with such a value), and oneOf needs exactly one; use anyOf if either may match`);
      }),
    );
  }
  for (const { node: a, path: at } of ctx.uniques) checkUnique(a, at);
  return node;
}

/**
 * uniqueItems is held for scalar items (strings, numbers, booleans, null, enums of them: json-machine compares each
 * item's canonical JSON when it completes, and leaves used enum values out); items that may be objects or arrays are
 * refused, and so are more items required than an enum of items has values.
 */
function checkUnique(a: Extract<SchemaNode, { kind: 'array' }>, path: string): void {
  const values = new Set<string>();
  let finite = true;
  for (const item of [...a.prefix, ...(a.max > a.prefix.length ? [a.items] : [])]) {
    for (const p of alternativesOf(item)) {
      if (p.kind === 'literal') {
        for (const t of p.texts) {
          const v = JSON.parse(t) as unknown;
          if (v !== null && typeof v === 'object') throw bad(`${path}/uniqueItems`, 'uniqueItems over items that may be objects or arrays is not supported (scalar items only)');
          values.add(canonicalJson(t));
        }
      } else if (p.kind === 'string' || p.kind === 'number') finite = false;
      else throw bad(`${path}/uniqueItems`, 'uniqueItems over items that may be objects or arrays is not supported (scalar items only)');
    }
  }
  if (finite && a.min > values.size) throw bad(path, `minItems ${a.min} > the ${values.size} distinct values its items can take (uniqueItems)`);
}

function compileIn(schema: unknown, path: string, ctx: Ctx): SchemaNode {
  if (schema === true) return ANY;
  if (!isObject(schema)) throw bad(path, `expected an object (a schema), got ${JSON.stringify(schema)}`);
  for (const k of Object.keys(schema)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) throw bad(path, `keyword "${k}" is not supported (supported: ${[...KEYWORDS].join(', ')})`);
  }
  const others = (k: string): string[] => Object.keys(schema).filter((x) => x !== k && !ANNOTATIONS.has(x));
  if (schema.$ref !== undefined) {
    if (others('$ref').length > 0) throw bad(path, `$ref beside ${others('$ref').join(', ')}: put those in the referenced schema`);
    return refNode(schema.$ref, `${path}/$ref`, ctx);
  }
  if (schema.allOf !== undefined) {
    if (!Array.isArray(schema.allOf) || schema.allOf.length !== 1) throw bad(`${path}/allOf`, 'only a single schema is supported (an intersection of several is not)');
    if (others('allOf').length > 0) throw bad(path, `allOf beside ${others('allOf').join(', ')}: put those inside it`);
    return compileIn(schema.allOf[0], `${path}/allOf/0`, ctx);
  }
  const parts: SchemaNode[] = [];
  if (schema.enum !== undefined || schema.const !== undefined) {
    const values = schema.const !== undefined ? [schema.const] : schema.enum;
    if (!Array.isArray(values) || values.length === 0) throw bad(`${path}/enum`, 'must be a non-empty array');
    parts.push({ kind: 'literal', texts: values.map((v) => JSON.stringify(v)) });
    return parts[0]!;
  }
  for (const k of ['anyOf', 'oneOf'] as const) {
    const alts = schema[k];
    if (alts === undefined) continue;
    if (!Array.isArray(alts) || alts.length === 0) throw bad(`${path}/${k}`, 'must be a non-empty array of schemas');
    if (others(k).length > 0) throw bad(path, `${k} beside ${others(k).join(', ')}: put those inside each alternative`);
    const node = { kind: 'union' as const, of: alts.map((s, i) => compileIn(s, `${path}/${k}/${i}`, ctx)) };
    // oneOf: decoded as anyOf, once its alternatives are proved apart (schema-overlap.ts), so any value fits exactly one
    if (k === 'oneOf') ctx.oneOfs.push({ node, path: `${path}/oneOf` });
    return node;
  }
  const types = typesOf(schema, path);
  // a type implied by keywords alone: JSON Schema also accepts every other type there (schema-overlap.ts reads it)
  const loose = schema.type === undefined && types.length === 1;
  for (const t of types) parts.push(typeNode(t, schema, path, ctx, loose));
  return parts.length === 1 ? parts[0]! : { kind: 'union', of: parts };
}

/** The node of a `$ref` (one per pointer; the target compiled on first use). */
function refNode(ref: unknown, path: string, ctx: Ctx): SchemaNode {
  if (typeof ref !== 'string' || !ref.startsWith('#')) throw bad(path, `only references into this schema ("#/$defs/Name") are supported, got ${JSON.stringify(ref)}`);
  const hit = ctx.refs.get(ref);
  if (hit) return hit;
  const node: RefNode = { kind: 'ref', ref, target: null };
  ctx.refs.set(ref, node);
  let at: unknown = ctx.root;
  const parts = ref === '#' ? [] : ref.slice(1).split('/').slice(1);
  if (ref !== '#' && !ref.startsWith('#/')) throw bad(path, `${ref}: a JSON pointer starts with #/`);
  for (const raw of parts) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    at = isObject(at) ? at[key] : Array.isArray(at) && /^\d+$/.test(key) ? at[Number(key)] : undefined;
    if (at === undefined) throw bad(path, `${ref} points at nothing in the schema`);
  }
  node.target = compileIn(at, ref, ctx);
  return node;
}

/** Refuses a ref that reaches itself through refs and anyOfs alone: its value would have to begin with itself. */
function checkRefCycles(ctx: Ctx): void {
  const done = new Set<SchemaNode>();
  const visit = (n: SchemaNode, path: RefNode[]): void => {
    if (n.kind === 'union') for (const p of n.of) visit(p, path);
    if (n.kind !== 'ref' || done.has(n)) return;
    if (path.includes(n)) throw bad(n.ref, `$ref cycle ${[...path.slice(path.indexOf(n)), n].map((r) => r.ref).join(' → ')} with no object or array between`);
    visit(n.target!, [...path, n]);
    done.add(n);
  };
  for (const r of ctx.refs.values()) visit(r, []);
}

function typesOf(schema: Record<string, unknown>, path: string): TypeName[] {
  const t = schema.type;
  if (t === undefined) {
    // no type: implied by the keywords present, else any value
    if (['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties'].some((k) => schema[k] !== undefined)) return ['object'];
    if (['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems'].some((k) => schema[k] !== undefined)) return ['array'];
    if (schema.minLength !== undefined || schema.maxLength !== undefined || schema.pattern !== undefined) return ['string'];
    return [...TYPES].filter((x) => x !== 'integer');
  }
  const list = Array.isArray(t) ? t : [t];
  if (list.length === 0) throw bad(`${path}/type`, 'an empty list of types');
  for (const x of list) if (!(TYPES as readonly unknown[]).includes(x)) throw bad(`${path}/type`, `unknown type ${JSON.stringify(x)} (expected ${TYPES.join('|')})`);
  return [...new Set(list as TypeName[])];
}

function typeNode(t: TypeName, schema: Record<string, unknown>, path: string, ctx: Ctx, loose: boolean): SchemaNode {
  const looseness = loose ? { loose } : {};
  switch (t) {
    case 'string': {
      const min = count(schema.minLength, `${path}/minLength`, 0);
      const max = count(schema.maxLength, `${path}/maxLength`, Infinity);
      if (min > max) throw bad(path, `minLength ${min} > maxLength ${max}`);
      // a known format (formats.ts) constrains like a pattern; the pattern rules where both are given
      const pattern = schema.pattern === undefined ? formatRegex(schema.format) : patternRegex(schema.pattern, `${path}/pattern`);
      return { kind: 'string', min, max, pattern, ...looseness };
    }
    case 'number':
    case 'integer':
      return { kind: 'number', integer: t === 'integer', bounds: boundsOf(schema, path, t === 'integer') };
    case 'boolean':
      return { kind: 'literal', texts: ['true', 'false'] };
    case 'null':
      return { kind: 'literal', texts: ['null'] };
    case 'array': {
      const min = count(schema.minItems, `${path}/minItems`, 0);
      const max = count(schema.maxItems, `${path}/maxItems`, Infinity);
      if (min > max) throw bad(path, `minItems ${min} > maxItems ${max}`);
      const pi = schema.prefixItems;
      if (pi !== undefined && !Array.isArray(pi)) throw bad(`${path}/prefixItems`, 'must be an array of schemas');
      const prefix = (pi ?? []).map((x, i) => compileIn(x, `${path}/prefixItems/${i}`, ctx));
      // items: false closes the array after its prefix (a fixed-length tuple with minItems)
      const closed = schema.items === false;
      const end = closed ? Math.min(max, prefix.length) : max;
      if (min > end) throw bad(path, `minItems ${min} > the ${prefix.length} items that items: false allows`);
      const items = schema.items === undefined || closed ? ANY : compileIn(schema.items, `${path}/items`, ctx);
      if (schema.uniqueItems !== undefined && typeof schema.uniqueItems !== 'boolean') throw bad(`${path}/uniqueItems`, `must be true or false, got ${JSON.stringify(schema.uniqueItems)}`);
      const node = { kind: 'array' as const, prefix, items, min, max: end, ...(schema.uniqueItems === true ? { unique: true } : {}), ...looseness };
      if (node.unique) ctx.uniques.push({ node, path });
      return node;
    }
    case 'object': {
      const props = new Map<string, SchemaNode>();
      if (schema.properties !== undefined) {
        if (!isObject(schema.properties)) throw bad(`${path}/properties`, 'must be an object of schemas');
        for (const [k, s] of Object.entries(schema.properties)) props.set(k, compileIn(s, `${path}/properties/${k}`, ctx));
      }
      const req = schema.required ?? [];
      if (!Array.isArray(req) || req.some((k) => typeof k !== 'string')) throw bad(`${path}/required`, 'must be an array of property names');
      const ap = schema.additionalProperties;
      const extra = ap === false ? null : ap === undefined ? (props.size > 0 ? null : ANY) : compileIn(ap, `${path}/additionalProperties`, ctx);
      for (const k of req as string[]) if (!props.has(k) && extra === null) throw bad(`${path}/required`, `"${k}" is required but not among the properties`);
      const required = new Set(req as string[]);
      const minProps = count(schema.minProperties, `${path}/minProperties`, 0);
      const maxProps = count(schema.maxProperties, `${path}/maxProperties`, Infinity);
      if (minProps > maxProps) throw bad(path, `minProperties ${minProps} > maxProperties ${maxProps}`);
      if (required.size > maxProps) throw bad(path, `${required.size} required properties > maxProperties ${maxProps}`);
      if (extra === null && props.size < minProps) throw bad(path, `minProperties ${minProps} > the ${props.size} properties the object may have`);
      const sizes = { ...(minProps > 0 ? { minProps } : {}), ...(maxProps < Infinity ? { maxProps } : {}) };
      return { kind: 'object', props, required, extra, ...sizes, ...looseness };
    }
  }
}

/**
 * A `pattern` as the whole-match expression the string must match: JSON Schema's pattern is a search (ECMA-262,
 * not anchored), so a side without its anchor (^ at the start, an unescaped $ at the end) takes any text there.
 * The syntax is regex.ts's subset (shared by ECMA-262 and Python's re in what it covers).
 */
function patternRegex(v: unknown, path: string): Regex {
  if (typeof v !== 'string') throw bad(path, `must be a string (a regular expression), got ${JSON.stringify(v)}`);
  const start = v.startsWith('^');
  const trailing = /(\\*)\$$/.exec(v);
  const end = trailing !== null && trailing[1]!.length % 2 === 0 && v.length > (start ? 1 : 0);
  const body = v.slice(start ? 1 : 0, end ? -1 : undefined);
  const anyText = '(?:.|\\n)*';
  try {
    return compileRegex(`${start ? '' : anyText}(?:${body})${end ? '' : anyText}`);
  } catch (e) {
    if (isWiseError(e) && e.code === 'WISE_BAD_SCHEMA') throw bad(path, `${JSON.stringify(v)}: ${e.message}`);
    throw e;
  }
}

/** minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers, as draft 6 on), the tighter of each side, and multipleOf; null: none. */
function boundsOf(schema: Record<string, unknown>, path: string, integer: boolean): Bounds | null {
  const num = (k: string): number | undefined => {
    const v = schema[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${path}/${k}`, `must be a finite number, got ${JSON.stringify(v)} (draft 4's boolean form is not read)`);
    return v;
  };
  const [min, xmin, max, xmax, mult] = [num('minimum'), num('exclusiveMinimum'), num('maximum'), num('exclusiveMaximum'), num('multipleOf')];
  if (min === undefined && xmin === undefined && max === undefined && xmax === undefined && mult === undefined) return null;
  if (mult !== undefined && mult <= 0) throw bad(`${path}/multipleOf`, `must be greater than 0, got ${mult}`);
  // the tighter lower bound: the larger value; at a tie the exclusive one
  const lo = xmin !== undefined && (min === undefined || xmin >= min) ? { d: decOf(xmin), open: true } : min !== undefined ? { d: decOf(min), open: false } : null;
  const hi = xmax !== undefined && (max === undefined || xmax <= max) ? { d: decOf(xmax), open: true } : max !== undefined ? { d: decOf(max), open: false } : null;
  const b: Bounds = { lo: lo?.d ?? null, loOpen: lo?.open ?? false, hi: hi?.d ?? null, hiOpen: hi?.open ?? false, step: mult === undefined ? null : decOf(mult) };
  // no writable number within them (16 digits a part, as json-machine writes numbers): refused, not a dead end
  if (![false, true].some((neg) => viable({ neg, int: '', frac: null }, b, integer, MAX_NUMBER_DIGITS))) throw bad(path, `no ${integer ? 'integer' : 'number'} lies within the bounds`);
  return b;
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
