import { describe, expect, it } from 'vitest';
import { engineOptions, trainProcess } from '../../src/cli/open.js';
import { resolveConfig } from '../../src/config/load.js';
import { DEFAULTS } from '../../src/config/schema.js';
import { WiseError } from '../../src/util/errors.js';

const engineWith = (env: Record<string, string>) => resolveConfig({ env }).engine;

describe('engine options from the config', () => {
  it('spinning defaults to auto: on for one stream of work, off when serving', () => {
    expect(DEFAULTS.engine.spinning).toBeNull();
    expect(engineOptions(DEFAULTS.engine, 'batch').allowSpinning).toBe(true);
    expect(engineOptions(DEFAULTS.engine, 'serve').allowSpinning).toBe(false);
  });

  it('an explicit engine.spinning wins over the workload', () => {
    const on = engineWith({ WISE_ENGINE__SPINNING: 'true' });
    const off = engineWith({ WISE_ENGINE__SPINNING: 'false' });
    expect(engineOptions(on, 'serve').allowSpinning).toBe(true);
    expect(engineOptions(off, 'batch').allowSpinning).toBe(false);
  });

  it('threads, provider and the session budget pass through', () => {
    const e = engineWith({ WISE_ENGINE__THREADS: '1', WISE_ENGINE__PROVIDER: 'cuda', WISE_ENGINE__SESSION_BUDGET_MB: '64' });
    expect(engineOptions(e, 'batch')).toEqual({ intraOpNumThreads: 1, executionProviders: ['cuda', 'cpu'], cacheBudgetBytes: 64 * 2 ** 20, allowSpinning: true });
  });

  it('a spinning value that is not a boolean or null is a config error naming the field', () => {
    let err: unknown;
    try {
      engineWith({ WISE_ENGINE__SPINNING: 'sometimes' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WiseError);
    expect((err as WiseError).code).toBe('WISE_BAD_CONFIG');
    expect((err as WiseError).message).toContain('spinning');
  });

  it('train_process defaults to auto: on when serving, off for one stream of work; an explicit value wins', () => {
    expect(DEFAULTS.engine.train_process).toBeNull();
    expect(trainProcess(DEFAULTS.engine, 'serve')).toBe(true);
    expect(trainProcess(DEFAULTS.engine, 'batch')).toBe(false);
    expect(trainProcess(engineWith({ WISE_ENGINE__TRAIN_PROCESS: 'false' }), 'serve')).toBe(false);
    expect(trainProcess(engineWith({ WISE_ENGINE__TRAIN_PROCESS: 'true' }), 'batch')).toBe(true);
    expect(() => engineWith({ WISE_ENGINE__TRAIN_PROCESS: 'maybe' })).toThrow(/train_process/);
  });
});
