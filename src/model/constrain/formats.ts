/**
 * JSON Schema `format` values that constrained decoding enforces: the ones OpenAI's structured outputs list
 * (date-time, time, date, duration, email, hostname, ipv4, ipv6, uuid), each as a whole-match expression in
 * regex.ts's subset, read over the string's decoded text. A string with its own `pattern` follows the pattern
 * (the format stays an annotation there: regex.ts has no intersection); any other format is an annotation, as
 * JSON Schema 2020-12 reads format by default. The expressions write a subset of what ajv-formats accepts (its
 * full mode; the tests check sampled texts with it): no leap second, no space for the date-time's T, no urn:uuid:
 * prefix; an email's or hostname's total length (254 and 253 characters) is not counted. Pure.
 */
import { compileRegex, type Regex } from './regex.js';

/** a leap year: divisible by 4, centuries only when divisible by 400 */
const LEAP = '(?:\\d\\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)';
/** RFC 3339 full-date: the days each month has, February 29 in leap years only */
const DATE = `(?:\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))|${LEAP}-02-29)`;
/** RFC 3339 full-time, the offset required (Z or ±hh:mm); no leap second (:60 is valid only at 23:59 UTC, which an expression cannot see through the offset) */
const TIME = '(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d+)?(?:[Zz]|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)';
/** ISO 8601 duration: at least one component; weeks alone */
const TPART = 'T(?:\\d+H(?:\\d+M)?(?:\\d+S)?|\\d+M(?:\\d+S)?|\\d+S)';
const DURATION = `P(?:\\d+W|(?:\\d+Y(?:\\d+M)?(?:\\d+D)?|\\d+M(?:\\d+D)?|\\d+D)(?:${TPART})?|${TPART})`;
const HEX = '[0-9A-Fa-f]';
const UUID = `${HEX}{8}-${HEX}{4}-${HEX}{4}-${HEX}{4}-${HEX}{12}`;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`;
/** RFC 4291 §2.2 (RFC 3986's IPv6address): eight groups, one "::" for a run of zero groups, an IPv4 tail */
function ipv6(): string {
  const h16 = `${HEX}{1,4}`;
  const ls32 = `(?:${h16}:${h16}|${IPV4})`;
  const before = (n: number): string => `(?:(?:${h16}:){0,${n}}${h16})?`; // up to n + 1 groups before "::"
  return [
    `(?:${h16}:){6}${ls32}`,
    `::(?:${h16}:){5}${ls32}`,
    `${before(0)}::(?:${h16}:){4}${ls32}`,
    `${before(1)}::(?:${h16}:){3}${ls32}`,
    `${before(2)}::(?:${h16}:){2}${ls32}`,
    `${before(3)}::${h16}:${ls32}`,
    `${before(4)}::${ls32}`,
    `${before(5)}::${h16}`,
    `${before(6)}::`,
  ].join('|');
}
/** RFC 1123 labels: letters, digits and inner hyphens, 1–63 characters */
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = `${LABEL}(?:\\.${LABEL})*`;
/** a dot-atom local part (RFC 5322) at a domain of two or more labels (ajv-formats' "email") */
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const EMAIL = `${ATOM}(?:\\.${ATOM})*@${LABEL}(?:\\.${LABEL})+`;

export const FORMATS: Readonly<Record<string, string>> = {
  date: DATE,
  time: TIME,
  'date-time': `${DATE}[Tt]${TIME}`,
  duration: DURATION,
  uuid: UUID,
  ipv4: IPV4,
  ipv6: ipv6(),
  hostname: HOSTNAME,
  email: EMAIL,
};

const compiled = new Map<string, Regex>();

/** The whole-match expression of a known format, compiled once; null for a format that is only an annotation. */
export function formatRegex(format: unknown): Regex | null {
  if (typeof format !== 'string' || !Object.hasOwn(FORMATS, format)) return null;
  let re = compiled.get(format);
  if (!re) compiled.set(format, (re = compileRegex(FORMATS[format]!)));
  return re;
}
