/**
 * Whether two alternatives of a `oneOf` (json-schema.ts) can be told apart, so that decoding their union
 * (json-machine.ts reads oneOf as anyOf) always yields a value that exactly one of them accepts. Conservative: an
 * answer of "apart" is a proof, anything it cannot prove counts as overlapping and the schema is refused.
 *
 * `excludes(x, y)`: no value the decoder writes for x is one y accepts, under standard JSON Schema semantics for y
 * (a y without additionalProperties takes any other key; a y whose type only its keywords imply takes other types) and the decoder's for x (an object with properties and no
 * additionalProperties writes only its declared keys). Proofs, tried in order:
 *   - no JSON type in common (integer counts as number);
 *   - both enum/const: no value in common (compared as canonical JSON, keys sorted);
 *   - an x literal that y's string, number or other node refuses by type or an object's required key;
 *   - objects: y requires a key x never writes, or a key both require whose values exclude each other
 *     (pydantic's discriminated unions: a `const` tag per model).
 * Pure.
 */
import type { SchemaNode } from './json-schema.js';

type JsonType = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';
const ALL: readonly JsonType[] = ['object', 'array', 'string', 'number', 'boolean', 'null'];

/** recursion past this depth (a recursive schema) proves nothing */
const MAX_DEPTH = 8;

function typeOfValue(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v as JsonType;
}

/** JSON with object keys sorted: one text per value */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The canonical text of a JSON text's value (json-machine.ts compares uniqueItems items with it). */
export const canonicalJson = (json: string): string => canonical(JSON.parse(json) as unknown);

/** The node's alternatives with refs and unions opened; a ref met again (recursion) is `any`. */
export function alternativesOf(n: SchemaNode, seen: Set<SchemaNode> = new Set()): SchemaNode[] {
  if (n.kind === 'union') return n.of.flatMap((p) => alternativesOf(p, seen));
  if (n.kind === 'ref') {
    if (seen.has(n)) return [{ kind: 'any' }];
    seen.add(n);
    return alternativesOf(n.target!, seen);
  }
  return [n];
}

/** The JSON types of the values the decoder writes for `n`. */
function written(n: SchemaNode): readonly JsonType[] {
  switch (n.kind) {
    case 'object':
    case 'array':
    case 'string':
      return [n.kind];
    case 'number':
      return ['number'];
    case 'literal':
      return [...new Set(n.texts.map((t) => typeOfValue(JSON.parse(t))))];
    default:
      return ALL;
  }
}

/** The JSON types `n` accepts as JSON Schema reads it: a type implied by keywords alone takes every other type too. */
const accepted = (n: SchemaNode): readonly JsonType[] => ('loose' in n && n.loose ? ALL : written(n));

/** A single (opened) node x: none of the values the decoder writes for it is one y accepts. */
function excludesPart(x: SchemaNode, y: SchemaNode, depth: number): boolean {
  const ty = accepted(y);
  if (!written(x).some((t) => ty.includes(t))) return true;
  if (x.kind === 'literal') {
    const values = x.texts.map((t) => JSON.parse(t) as unknown);
    if (y.kind === 'literal') {
      const theirs = new Set(y.texts.map((t) => canonical(JSON.parse(t))));
      return values.every((v) => !theirs.has(canonical(v)));
    }
    if (y.kind === 'object' && !y.loose) return values.every((v) => typeOfValue(v) !== 'object' || [...y.required].some((k) => !(k in (v as object))));
    if (y.kind === 'object') return values.every((v) => typeOfValue(v) === 'object' && [...y.required].some((k) => !(k in (v as object))));
    return false;
  }
  if (x.kind === 'object' && y.kind === 'object' && depth < MAX_DEPTH) {
    // x writes only objects, so y's looseness (other types) does not matter here
    for (const k of y.required) {
      if (x.extra === null && !x.props.has(k)) return true; // x never writes k; y needs it
      const xv = x.props.get(k) ?? x.extra;
      const yv = y.props.get(k) ?? y.extra;
      if (x.required.has(k) && xv && yv && excludes(xv, yv, depth + 1)) return true;
    }
  }
  return false;
}

/** No value the decoder writes for x is one y accepts (see the header). */
export function excludes(x: SchemaNode, y: SchemaNode, depth = 0): boolean {
  const ys = alternativesOf(y);
  return alternativesOf(x).every((a) => ys.every((b) => excludesPart(a, b, depth)));
}

/** Whether alternatives a and b can be told apart both ways: then their union is a oneOf. */
export const apart = (a: SchemaNode, b: SchemaNode): boolean => excludes(a, b) && excludes(b, a);
