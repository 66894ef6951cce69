import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, envOverrides } from '../src/config/load.js';
import { DEFAULTS } from '../src/config/schema.js';
import { WiseError } from '../src/util/errors.js';

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wise-cfg-'));
  const f = join(dir, 'c.yaml');
  writeFileSync(f, text);
  return f;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as WiseError).code;
  }
  return undefined;
}

describe('config resolution', () => {
  it('defaults follow EasyEdit hparams', () => {
    expect(DEFAULTS.wise.mask_ratio).toBe(0.2);
    expect(DEFAULTS.wise.act_margin).toEqual([5, 20, 10]);
    expect(DEFAULTS.wise.densities).toBe(0.53);
    expect(DEFAULTS.engine.threads).toBe(2);
  });

  it('flag > env > file > defaults', () => {
    const f = yamlFile('wise:\n  n_iter: 11\n  edit_lr: 0.5\nengine:\n  threads: 1\n');
    const fromFile = resolveConfig({ file: f, env: {} });
    expect(fromFile.wise.n_iter).toBe(11);
    expect(fromFile.wise.edit_lr).toBe(0.5);
    expect(fromFile.wise.mask_ratio).toBe(0.2);
    const withEnv = resolveConfig({ file: f, env: { WISE_WISE__N_ITER: '22' } });
    expect(withEnv.wise.n_iter).toBe(22);
    expect(withEnv.engine.threads).toBe(1);
    const withFlag = resolveConfig({ file: f, env: { WISE_WISE__N_ITER: '22' }, flags: { wise: { n_iter: 33 } } });
    expect(withFlag.wise.n_iter).toBe(33);
    expect(withFlag.wise.edit_lr).toBe(0.5);
  });

  it('unknown keys at any level are errors naming the field', () => {
    const f = yamlFile('wise:\n  n_itr: 3\n');
    let err: WiseError | undefined;
    try {
      resolveConfig({ file: f, env: {} });
    } catch (e) {
      err = e as WiseError;
    }
    expect(err?.code).toBe('WISE_BAD_CONFIG');
    expect(String(err?.details.field)).toContain('n_itr');
    expect(codeOf(() => resolveConfig({ env: {}, flags: { bogus: 1 } }))).toBe('WISE_BAD_CONFIG');
  });

  it('type changes and out-of-range values are errors', () => {
    expect(codeOf(() => resolveConfig({ file: yamlFile('wise:\n  mask_ratio: 1.5\n'), env: {} }))).toBe('WISE_BAD_CONFIG');
    expect(codeOf(() => resolveConfig({ file: yamlFile('wise:\n  n_iter: "ten"\n'), env: {} }))).toBe('WISE_BAD_CONFIG');
    // the error names the layer the bad value came from
    const messageOf = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    const bad = yamlFile('wise:\n  mask_ratio: 1.5\n');
    expect(messageOf(() => resolveConfig({ file: bad, env: {}, flags: { wise: { n_iter: 3 } } }))).toContain(`config file ${bad}`);
    const unknown = yamlFile('wise:\n  n_iterr: 3\n');
    expect(messageOf(() => resolveConfig({ file: unknown, env: {}, flags: { wise: { n_iter: 3 } } }))).toContain(`config file ${unknown}`);
    expect(messageOf(() => resolveConfig({ file: yamlFile('wise:\n  n_iter: 3\n'), env: { WISE_WISE__MASK_RATIO: '2' } }))).toContain('environment (WISE_*)');
    expect(messageOf(() => resolveConfig({ env: {}, flags: { wise: { mask_ratio: 0 } } }))).toContain('command-line flags');
    expect(codeOf(() => resolveConfig({ file: '/nonexistent/wise.yaml', env: {} }))).toBe('WISE_FILE_NOT_FOUND');
  });

  it('env parsing keeps types and rejects unknown variables', () => {
    expect(envOverrides({ WISE_ENGINE__THREADS: '3', WISE_MODEL: '/m', WISE_TOKEN: 'x' })).toEqual({ engine: { threads: 3 }, model: '/m' });
    expect(codeOf(() => envOverrides({ WISE_NITER: '3' }))).toBe('WISE_BAD_CONFIG');
  });
});
