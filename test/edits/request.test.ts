/** Malformed JSONL edit files: each case names the line and the field (the CLI's `wise edit --file` path). */
import { describe, expect, it } from 'vitest';
import { parseEditsJsonl, validateEditRequest } from '../../src/edits/request.js';
import { WiseError } from '../../src/util/errors.js';

const ok = '{"prompt":"The capital of France is","target":"Rome"}';
const CASES: { name: string; line2: string; field: string | undefined; says?: string }[] = [
  { name: 'broken JSON', line2: '{"prompt": "x", "target": ', field: undefined },
  { name: 'not an object (array)', line2: '["prompt", "target"]', field: undefined },
  { name: 'not an object (string)', line2: '"prompt"', field: undefined },
  { name: 'missing target', line2: '{"prompt":"p"}', field: 'target', says: 'field "target" is missing' },
  { name: 'missing prompt', line2: '{"target":"t"}', field: 'prompt', says: 'field "prompt" is missing' },
  { name: 'empty target', line2: '{"prompt":"p","target":""}', field: 'target' },
  { name: 'blank target', line2: '{"prompt":"p","target":"   "}', field: 'target' },
  { name: 'target of the wrong type', line2: '{"prompt":"p","target":5}', field: 'target', says: 'field "target" must be a string' },
  { name: 'prompt of the wrong type', line2: '{"prompt":null,"target":"t"}', field: 'prompt' },
  { name: 'unknown field (typo)', line2: '{"prompt":"p","target":"t","rephase":"x"}', field: 'rephase' },
  { name: 'optional field of the wrong type', line2: '{"prompt":"p","target":"t","rephrase":3}', field: 'rephrase' },
  { name: 'locality answer without a prompt', line2: '{"prompt":"p","target":"t","locality_answer":"a"}', field: 'locality_prompt' },
];

describe('malformed JSONL edit lines', () => {
  it('has at least 8 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(8));
  for (const c of CASES) {
    it(`${c.name}: WISE_BAD_REQUEST naming line 2${c.field ? ` and field ${c.field}` : ''}`, () => {
      let err: WiseError | undefined;
      try {
        parseEditsJsonl(`${ok}\n${c.line2}\n${ok}\n`, 'edits.jsonl');
      } catch (e) {
        err = e as WiseError;
      }
      expect(err).toBeInstanceOf(WiseError);
      expect(err!.code).toBe('WISE_BAD_REQUEST');
      expect(err!.details.line).toBe(2);
      expect(err!.message).toContain('edits.jsonl line 2');
      expect(err!.details.field).toBe(c.field);
      if (c.says) expect(err!.message).toContain(c.says);
    });
  }
  it('accepts valid lines and skips blank ones', () => {
    expect(parseEditsJsonl(`${ok}\n\n${ok}\n`)).toHaveLength(2);
    expect(validateEditRequest({ prompt: 'p', target: 't', subject: 's' })).toEqual({ prompt: 'p', target: 't', subject: 's' });
  });
});
