/**
 * mergekit recipes → merge plans (src/merge/recipe.ts): each method onto the registry with mergekit's defaults,
 * normalize as weights, the base skipped among the models, and the refusals naming the field.
 */
import { describe, expect, it } from 'vitest';
import { mergePlan } from '../../src/merge/recipe.js';
import { WiseError } from '../../src/util/errors.js';

const two = (p1: Record<string, unknown> = {}, p2: Record<string, unknown> = {}) => [
  { model: 'base' },
  { model: 'a', parameters: { weight: 0.6, ...p1 } },
  { model: 'b', parameters: { weight: 0.2, ...p2 } },
];

describe('merge recipe → plan', () => {
  it('maps each method with mergekit\'s defaults', () => {
    const plan = (merge_method: string, extra: Record<string, unknown> = {}, models = two({ density: 0.5 }, { density: 0.5 })) => mergePlan({ merge_method, base_model: 'base', models, ...extra });
    expect(plan('ties')).toMatchObject({ registry: 'ties', params: { density: 0.5, lambda: 1 }, base: 'base', models: [{ dir: 'a', weight: 0.6 }, { dir: 'b', weight: 0.2 }], dtype: 'F32' });
    expect(plan('dare_ties', { parameters: { seed: 7 } })).toMatchObject({ registry: 'dare_ties', params: { p: 0.5, seed: 7, rescale: 'l1', normalize: false } });
    expect(plan('dare_linear', { parameters: { rescale: false } })).toMatchObject({ registry: 'dare', params: { p: 0.5, seed: 0, rescale: 'none' } });
    expect(plan('breadcrumbs_ties')).toMatchObject({ registry: 'breadcrumbs', params: { density: 0.5, gamma: 0.01, consensus: 'sum', normalize: false } });
    expect(plan('della')).toMatchObject({ registry: 'della', params: { density: 0.5, epsilon: 0.15, rescale: 'l1', normalize: true } });
    expect(plan('della_linear', { dtype: 'bfloat16' })).toMatchObject({ registry: 'della_linear', params: { normalize: false }, dtype: 'BF16' });
    // task arithmetic keeps the weights; normalize divides them by their sum; linear normalizes by default, over no base
    expect(plan('task_arithmetic', { parameters: { lambda: 0.5 } }, two()).models.map((m) => m.weight)).toEqual([0.6, 0.2]);
    expect(plan('task_arithmetic', { parameters: { normalize: true } }, two()).models.map((m) => m.weight)).toEqual([0.6 / 0.8, 0.2 / 0.8]);
    const lin = mergePlan({ merge_method: 'linear', models: [{ model: 'a', parameters: { weight: 3 } }, { model: 'b', parameters: { weight: 1 } }], dtype: 'float16' });
    expect(lin).toMatchObject({ registry: 'task_arithmetic', base: null, models: [{ dir: 'a', weight: 0.75 }, { dir: 'b', weight: 0.25 }], dtype: 'F16', configFrom: 'a', tokenizerFrom: 'a' });
    // global parameters are the models' defaults; density defaults to 1 as in mergekit
    expect(mergePlan({ merge_method: 'ties', base_model: 'base', models: two(), parameters: { density: 0.3 } }).params).toMatchObject({ density: 0.3 });
    expect(mergePlan({ merge_method: 'ties', base_model: 'base', models: two() }).params).toMatchObject({ density: 1 });
    expect(mergePlan({ merge_method: 'ties', base_model: 'base', models: two(), tokenizer_source: 'a' })).toMatchObject({ configFrom: 'base', tokenizerFrom: 'a' });
    expect(mergePlan({ merge_method: 'slerp', base_model: 'base', models: [{ model: 'base' }, { model: 'a' }], parameters: { t: 0.3 } })).toMatchObject({ registry: 'slerp', params: { t: 0.3 }, models: [{ dir: 'a', weight: 1 }] });
    expect(mergePlan({ merge_method: 'model_stock', base_model: 'base', models: two(), parameters: { filter_wise: true } })).toMatchObject({ registry: 'model_stock', params: { filter_wise: true } });
  });

  it.each([
    [{ merge_method: 'nuslerp', base_model: 'base', models: two() }, 'merge_method'],
    [{ merge_method: 'slerp', base_model: 'base', models: two(), parameters: { t: 0.5 } }, 'models'],
    [{ merge_method: 'slerp', base_model: 'base', models: [{ model: 'a' }], parameters: { t: [0, 0.5, 1] } }, 'parameters.t'],
    [{ merge_method: 'model_stock', base_model: 'base', models: [{ model: 'a' }] }, 'models'],
    [{ merge_method: 'ties', models: two() }, 'base_model'],
    [{ merge_method: 'ties', base_model: 'base', models: two({ density: 0.5 }, { density: 0.7 }) }, 'models[1].parameters.density'],
    [{ merge_method: 'ties', base_model: 'base', models: two({ density: [0.1, 0.5] }) }, 'models[0].parameters.density'],
    [{ merge_method: 'ties', base_model: 'base', models: two(), parameters: { normalize: false } }, 'parameters.normalize'],
    [{ merge_method: 'ties', base_model: 'base', models: two(), parameters: { densty: 0.5 } }, 'parameters.densty'],
    [{ merge_method: 'ties', base_model: 'base', models: [{ model: 'base' }] }, 'models'],
    [{ merge_method: 'ties', base_model: 'base', models: two(), tokenizer_source: 'union' }, 'tokenizer_source'],
    [{ merge_method: 'ties', base_model: 'base', models: two(), slices: [] }, 'slices'],
    [{ merge_method: 'dare_ties', base_model: 'base', models: two(), parameters: { seed: -1 } }, 'parameters.seed'],
  ])('%o → WISE_BAD_CONFIG naming %s', (recipe, field) => {
    let err: unknown;
    try {
      mergePlan(recipe);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WiseError);
    expect((err as WiseError).code).toBe('WISE_BAD_CONFIG');
    expect((err as WiseError).details.field).toBe(field);
  });
});
