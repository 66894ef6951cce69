/**
 * JSON Schema `format` under constrained decoding (src/model/constrain/formats.ts): examples from the RFCs that
 * must and must not match, texts sampled at random from the recogniser checked by independent validators
 * (node:net's isIPv4/isIPv6, calendar and clock arithmetic, and ajv-formats in its full mode), a pattern ruling over a format, an unknown format
 * left as an annotation, and on the bundled model a schema of date-time, uuid and ipv4 fields whose outputs hold.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ajvWithFormats } from '../helpers/ajv.js';
import { sampleTexts } from '../helpers/sample-text.js';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { bundledModelDir } from '../../src/config/paths.js';
import { compileSchema } from '../../src/model/constrain/json-schema.js';
import { feed, initialStates } from '../../src/model/constrain/json-machine.js';
import { jsonRecognizer } from '../../src/model/constrain/json-recognizer.js';
import { constraintFor } from '../../src/model/constrain/token-constraint.js';
import { FORMATS } from '../../src/model/constrain/formats.js';

const num = (s: string | undefined): number => Number(s);
/** the calendar's answer: Date.UTC rolls an impossible day into the next month */
const validDate = (s: string): boolean => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m === null || num(m[2]) < 1 || num(m[2]) > 12 || num(m[3]) < 1) return false;
  const d = new Date(0);
  d.setUTCFullYear(num(m[1]), num(m[2]) - 1, num(m[3]));
  return d.getUTCMonth() === num(m[2]) - 1 && d.getUTCDate() === num(m[3]);
};
const validTime = (s: string): boolean => {
  const m = /^(\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/.exec(s);
  return m !== null && num(m[1]) < 24 && num(m[2]) < 60 && num(m[3]) < 60 && (m[5] === undefined || (num(m[5]) < 24 && num(m[6]) < 60));
};
const validDuration = (s: string): boolean => {
  if (/^P\d+W$/.test(s)) return true;
  const m = /^P(\d+Y)?(\d+M)?(\d+D)?(?:T(\d+H)?(\d+M)?(\d+S)?)?$/.exec(s);
  if (!m) return false;
  const hasT = s.includes('T');
  const timeParts = [m[4], m[5], m[6]].filter(Boolean).length;
  return (hasT ? timeParts > 0 : true) && [m[1], m[2], m[3]].filter(Boolean).length + timeParts > 0;
};
const validLabel = (l: string): boolean => l.length >= 1 && l.length <= 63 && /^[A-Za-z0-9-]+$/.test(l) && !l.startsWith('-') && !l.endsWith('-');
const validHostname = (s: string): boolean => s.split('.').every(validLabel);
const validEmail = (s: string): boolean => {
  const at = s.split('@');
  if (at.length !== 2) return false;
  const [local, domain] = at as [string, string];
  return local.split('.').every((a) => /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/.test(a)) && domain.split('.').length >= 2 && validHostname(domain);
};

const VALIDATORS: Record<string, (s: string) => boolean> = {
  date: validDate,
  time: validTime,
  'date-time': (s) => /^[^Tt]+[Tt].+$/.test(s) && validDate(s.slice(0, 10)) && /[Tt]/.test(s[10] ?? '') && validTime(s.slice(11)),
  duration: validDuration,
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
  ipv4: isIPv4,
  ipv6: isIPv6,
  hostname: validHostname,
  email: validEmail,
};

const EXAMPLES: Record<string, [string[], string[]]> = {
  date: [['2024-02-29', '2000-02-29', '1999-12-31', '0000-01-01', '2026-04-30'], ['2023-02-29', '1900-02-29', '2024-13-01', '2024-04-31', '2024-1-01', '24-01-01', '2024-02-30', '2024-00-10']],
  time: [['20:31:11Z', '23:59:59+01:00', '00:00:00.123456z', '12:00:00-05:30'], ['24:00:00Z', '12:60:00Z', '12:00:00', '12:00Z', '12:00:00+1:00', '12:00:00+24:00', '23:59:60+01:00']],
  'date-time': [['2026-11-29T20:31:11Z', '2026-11-29t20:31:11.5+09:00'], ['2026-11-29 20:31:11Z', '2026-11-29T20:31:11', '2026-11-29']],
  duration: [['P1D', 'PT1H', 'P1Y2M3DT4H5M6S', 'P4W', 'PT36H', 'P1M', 'PT0S'], ['P', 'PT', 'P1H', '1D', 'P1DT', 'P1W2D', 'P1.5D']],
  uuid: [[randomUUID(), '123e4567-E89B-12d3-a456-426614174000'], ['123e4567e89b12d3a456426614174000', 'g23e4567-e89b-12d3-a456-426614174000', '123e4567-e89b-12d3-a456-42661417400']],
  ipv4: [['0.0.0.0', '255.255.255.255', '192.168.1.10'], ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.-4']],
  ipv6: [
    ['::', '::1', '2001:db8::ff00:42:8329', '2001:0db8:0000:0000:0000:ff00:0042:8329', '::ffff:192.0.2.128', 'fe80::1:2:3:4:5:6', '1:2:3:4:5:6:7:8', '1::8', '1:2:3:4:5:6:7::', 'a:b:c:d:e:f:1.2.3.4'],
    ['1:2:3:4:5:6:7:8:9', ':::', '1::2::3', '12345::', '1:2:3:4:5:6:7::8', '1:2:3:4:5:6:7', '::256.1.1.1', 'g::1'],
  ],
  hostname: [['localhost', 'a.b-c.d', `${'x'.repeat(63)}.com`, '1.2.3'], ['-a.com', 'a-.com', 'a..b', 'x'.repeat(64), 'a_b.com', '']],
  email: [['a@b.co', "o'brien+tag@mail.example.org", 'x.y@z.io'], ['a@b', '.a@b.co', 'a..b@c.de', 'a@-b.co', 'ab.co', 'a@b@c.de']],
};

/** ajv-formats' full mode, a second independent judge */
const ajv = ajvWithFormats();
const ajvValid = (format: string, s: string): boolean => ajv.validate({ type: 'string', format }, s);

/** whether the string's JSON text is accepted whole under `{type: string, format}` */
const matches = (format: string, s: string): boolean => {
  const states = feed(initialStates(compileSchema({ type: 'string', format })), JSON.stringify(s));
  return states.some((st) => st.stack.length === 0);
};

describe('format (pure)', () => {
  it.each(Object.keys(FORMATS))('%s: the valid examples match, the invalid do not, and the independent validator agrees on each', (format) => {
    const [good, badOnes] = EXAMPLES[format]!;
    for (const s of good) {
      expect(matches(format, s), s).toBe(true);
      expect(VALIDATORS[format]!(s), s).toBe(true);
      expect(ajvValid(format, s), s).toBe(true);
    }
    for (const s of badOnes) {
      expect(matches(format, s), s).toBe(false);
      expect(VALIDATORS[format]!(s), s).toBe(false);
    }
  });

  it.each(Object.keys(FORMATS))('%s: texts sampled at random from the recogniser pass the independent validator', (format) => {
    const rec = jsonRecognizer(compileSchema({ type: 'string', format, maxLength: 60 }));
    const texts = sampleTexts(rec, { alphabet: '0123456789abcdefxyzABCDEF:-.+TtZzPWYMDHS@_!\'"', closers: '"', n: 150, seed: 17, soft: 50 });
    expect(texts.length).toBe(150); // every walk ended in a whole string
    const seen = new Set<string>();
    for (const text of texts) {
      const value = JSON.parse(text) as string;
      expect(VALIDATORS[format]!(value), `${format}: ${value}`).toBe(true);
      expect(ajvValid(format, value), `${format}: ${value} (ajv-formats)`).toBe(true);
      seen.add(value);
    }
    expect(seen.size).toBeGreaterThan(30); // varied texts, not one
  });

  it('a pattern rules where both are given; an unknown format is an annotation', () => {
    const both = initialStates(compileSchema({ type: 'string', format: 'uuid', pattern: '^x+$' }));
    expect(feed(both, '"xxx"').some((st) => st.stack.length === 0)).toBe(true);
    const unknown = initialStates(compileSchema({ type: 'string', format: 'iri-reference' }));
    expect(feed(unknown, '"anything at all"').some((st) => st.stack.length === 0)).toBe(true);
  });
});

describe('format on the bundled model', () => {
  it('date-time, uuid and ipv4 fields: greedy and sampled outputs parse and each field holds its format', async () => {
    const lm = await CausalLM.load(bundledModelDir());
    const schema = compileSchema({
      type: 'object',
      properties: { when: { type: 'string', format: 'date-time' }, id: { type: 'string', format: 'uuid' }, ip: { type: 'string', format: 'ipv4' } },
      required: ['when', 'id', 'ip'],
      additionalProperties: false,
    });
    const c = constraintFor(lm.tokenizer, jsonRecognizer(schema));
    const prompt = lm.tokenizer.encodePrompt('Q: When was the Eiffel Tower built? A:');
    for (const seed of [0, 1, 2, 3]) {
      const out = await lm.generate(prompt, { maxTokens: 160, temperature: seed === 0 ? 0 : 1.2, seed, constraint: c });
      const text = lm.tokenizer.decode(out.ids);
      expect(out.finishReason, text).toBe('stop');
      const v = JSON.parse(text) as Record<string, string>;
      expect(VALIDATORS['date-time']!(v.when!), v.when).toBe(true);
      expect(VALIDATORS.uuid!(v.id!), v.id).toBe(true);
      expect(isIPv4(v.ip!), v.ip).toBe(true);
      expect(ajv.validate({ type: 'object', properties: { when: { format: 'date-time' }, id: { format: 'uuid' }, ip: { format: 'ipv4' } } }, v)).toBe(true);
    }
  });
});
