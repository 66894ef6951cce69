/**
 * mergekit recipes → merge plans (src/merge/recipe.ts): each method onto the registry with mergekit's defaults,
 * normalize as weights, the base skipped among the models, settings as mergekit evaluates them (gradients over the
 * layers, filters, t per tensor), the one-slice form, and the refusals naming the field.
 */
import { describe, expect, it } from 'vitest';
import { evaluateSetting, mergePlan, tensorT } from '../../src/merge/recipe.js';
import { WiseError } from '../../src/util/errors.js';

const two = (p1: Record<string, unknown> = {}, p2: Record<string, unknown> = {}) => [
  { model: 'base' },
  { model: 'a', parameters: { weight: 0.6, ...p1 } },
  { model: 'b', parameters: { weight: 0.2, ...p2 } },
];
const T = 'model.layers.3.mlp.down_proj.weight';

describe('merge recipe → plan', () => {
  it('maps each method with mergekit\'s defaults', () => {
    const plan = (merge_method: string, extra: Record<string, unknown> = {}, models = two({ density: 0.5 }, { density: 0.5 })) => mergePlan({ merge_method, base_model: 'base', models, ...extra });
    expect(plan('ties')).toMatchObject({ registry: 'ties', base: 'base', models: [{ dir: 'a' }, { dir: 'b' }], dtype: 'F32' });
    expect(plan('ties').at(T, 0.5)).toEqual({ params: { density: 0.5, lambda: 1 }, weights: [0.6, 0.2] });
    expect(plan('dare_ties', { parameters: { seed: 7 } }).at(T, 0).params).toMatchObject({ p: 0.5, seed: 7, rescale: 'l1', normalize: false });
    expect(plan('dare_linear', { parameters: { rescale: false } })).toMatchObject({ registry: 'dare' });
    expect(plan('dare_linear', { parameters: { rescale: false } }).at(T, 0).params).toMatchObject({ p: 0.5, seed: 0, rescale: 'none' });
    expect(plan('breadcrumbs_ties').at(T, 0).params).toMatchObject({ density: 0.5, gamma: 0.01, consensus: 'sum', normalize: false });
    expect(plan('della').at(T, 0).params).toMatchObject({ density: 0.5, epsilon: 0.15, rescale: 'l1', normalize: true });
    expect(plan('della_linear', { dtype: 'bfloat16' })).toMatchObject({ registry: 'della_linear', dtype: 'BF16' });
    // task arithmetic keeps the weights; normalize divides them by their sum; linear normalizes by default, over no base
    expect(plan('task_arithmetic', { parameters: { lambda: 0.5 } }, two()).at(T, 0)).toEqual({ params: { lambda: 0.5 }, weights: [0.6, 0.2] });
    expect(plan('task_arithmetic', { parameters: { normalize: true } }, two()).at(T, 0).weights).toEqual([0.6 / 0.8, 0.2 / 0.8]);
    const lin = mergePlan({ merge_method: 'linear', models: [{ model: 'a', parameters: { weight: 3 } }, { model: 'b', parameters: { weight: 1 } }], dtype: 'float16' });
    expect(lin).toMatchObject({ registry: 'task_arithmetic', base: null, models: [{ dir: 'a' }, { dir: 'b' }], dtype: 'F16', configFrom: 'a', tokenizerFrom: 'a' });
    expect(lin.at(T, 0).weights).toEqual([0.75, 0.25]);
    // global parameters are the models' defaults; density defaults to 1 as in mergekit
    expect(mergePlan({ merge_method: 'ties', base_model: 'base', models: two(), parameters: { density: 0.3 } }).at(T, 0).params).toMatchObject({ density: 0.3 });
    expect(mergePlan({ merge_method: 'ties', base_model: 'base', models: two() }).at(T, 0).params).toMatchObject({ density: 1 });
    expect(mergePlan({ merge_method: 'ties', base_model: 'base', models: two(), tokenizer_source: 'a' })).toMatchObject({ configFrom: 'base', tokenizerFrom: 'a' });
    expect(mergePlan({ merge_method: 'slerp', base_model: 'base', models: [{ model: 'base' }, { model: 'a' }], parameters: { t: 0.3 } }).at(T, 0)).toEqual({ params: { t: 0.3 }, weights: [1] });
    expect(mergePlan({ merge_method: 'model_stock', base_model: 'base', models: two(), parameters: { filter_wise: true } }).at(T, 0).params).toEqual({ filter_wise: true });
  });

  it('settings as mergekit evaluates them: gradients interpolated at t, filters by name, t per tensor from its layer', () => {
    expect(evaluateSetting([0, 0.5, 0.3, 0.7, 1], T, 0.3, 'x')).toBeCloseTo(0.5 * 0.8 + 0.3 * 0.2, 12); // t·4 = 1.2 → between items 1 and 2
    expect(evaluateSetting([0, 1], T, 1, 'x')).toBe(1);
    expect(evaluateSetting(['a', 'b', 'c'], T, 0.9, 'x')).toBe('b'); // not numbers: ⌊t (n − 1)⌋
    const t = [{ filter: 'self_attn', value: [0, 1] }, { filter: 'mlp', value: [1, 0] }, { value: 0.5 }];
    expect(evaluateSetting(t, 'model.layers.0.self_attn.q_proj.weight', 0.25, 'x')).toBe(0.25);
    expect(evaluateSetting(t, T, 0.25, 'x')).toBe(0.75);
    expect(evaluateSetting(t, 'model.norm.weight', 0.25, 'x')).toBe(0.5);
    expect(evaluateSetting([{ filter: 'mlp', value: 1 }], 'lm_head.weight', 0, 'x')).toBeUndefined();
    // layer i of n at i/(n − 1); embeddings before the layers 0, what comes after 1 (mergekit's planner)
    expect([tensorT('model.layers.0.mlp.down_proj.weight', 4), tensorT(T, 4), tensorT('transformer.h.1.attn.c_attn.weight', 3)]).toEqual([0, 1, 0.5]);
    expect([tensorT('model.embed_tokens.weight', 4), tensorT('transformer.wte.weight', 4), tensorT('model.norm.weight', 4), tensorT('lm_head.weight', 4)]).toEqual([0, 0, 1, 1]);
    // mergekit's README SLERP recipe, in its one-slice form
    const slerp = mergePlan({
      merge_method: 'slerp', base_model: 'A',
      slices: [{ sources: [{ model: 'A', layer_range: [0, 4] }, { model: 'B', layer_range: [0, 4] }] }],
      parameters: { t: [{ filter: 'self_attn', value: [0, 0.5, 0.3, 0.7, 1] }, { filter: 'mlp', value: [1, 0.5, 0.7, 0.3, 0] }, { value: 0.5 }] },
      dtype: 'bfloat16',
    });
    expect([slerp.models, slerp.layerRange]).toEqual([[{ dir: 'B' }], [0, 4]]);
    expect(slerp.at(T, tensorT(T, 4)).params.t).toBeCloseTo(0, 12); // the last layer's mlp: the list's last value
    expect(slerp.at('model.layers.0.self_attn.o_proj.weight', 0).params.t).toBe(0);
    expect(slerp.at('model.embed_tokens.weight', 0).params.t).toBe(0.5);
    // per-tensor densities must agree between the models at each tensor
    const grad = mergePlan({ merge_method: 'ties', base_model: 'base', models: two({ density: [0.2, 0.8] }, { density: [0.2, 0.8] }) });
    expect(grad.at(T, 0.5).params.density).toBeCloseTo(0.5, 12);
  });

  it.each([
    [{ merge_method: 'nuslerp', base_model: 'base', models: two() }, 'merge_method'],
    [{ merge_method: 'ties', models: two() }, 'base_model'],
    [{ merge_method: 'ties', base_model: 'base', models: two({ density: 0.5 }, { density: 0.7 }) }, 'models[2].parameters.density'],
    [{ merge_method: 'ties', base_model: 'base', models: two({ density: { a: 1 } }) }, 'models[1].parameters.density'],
    [{ merge_method: 'ties', base_model: 'base', models: two(), parameters: { normalize: false } }, 'parameters.normalize'],
    [{ merge_method: 'ties', base_model: 'base', models: two(), parameters: { densty: 0.5 } }, 'parameters.densty'],
    [{ merge_method: 'ties', base_model: 'base', models: [{ model: 'base' }] }, 'models'],
    [{ merge_method: 'ties', base_model: 'base', models: two(), tokenizer_source: 'union' }, 'tokenizer_source'],
    [{ merge_method: 'ties', base_model: 'base', models: two(), slices: [] }, 'slices'],
    [{ merge_method: 'ties', base_model: 'base', slices: [{ sources: [{ model: 'a', layer_range: [0, 4] }, { model: 'b', layer_range: [2, 6] }] }] }, 'slices[0].sources[1].layer_range'],
    [{ merge_method: 'ties', base_model: 'base', slices: [{ sources: [{ model: 'a', layer_range: [0, 2] }] }, { sources: [{ model: 'a', layer_range: [2, 4] }] }] }, 'slices'],
    [{ merge_method: 'dare_ties', base_model: 'base', models: two(), parameters: { seed: -1 } }, 'parameters.seed'],
    [{ merge_method: 'slerp', base_model: 'base', models: two(), parameters: { t: 0.5 } }, 'models'],
    [{ merge_method: 'slerp', base_model: 'base', models: [{ model: 'a' }] }, 'parameters.t'],
    [{ merge_method: 'model_stock', base_model: 'base', models: [{ model: 'a' }] }, 'models'],
  ])('%o → WISE_BAD_CONFIG naming %s', (recipe, field) => {
    let err: unknown;
    try {
      mergePlan(recipe).at(T, 0.5);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WiseError);
    expect((err as WiseError).code).toBe('WISE_BAD_CONFIG');
    expect((err as WiseError).details.field).toBe(field);
  });
});
