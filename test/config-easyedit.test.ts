/**
 * `--config` with an EasyEdit hparams/WISE/*.yaml (src/config/easyedit.ts): the file's settings
 * land on the wise-edit keys they stand for, over the model family's layer and under env and
 * flags; what wise-edit cannot honour is refused with WISE_BAD_CONFIG naming the key and file.
 * The files below are written in EasyEdit's format with the values of its llama-7b, gpt2-xl and
 * qwen2.5-7b files (../shared/docs/wise-reference.md §2).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/config/load.js';
import { WiseError } from '../src/util/errors.js';

function yamlFile(text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'wise-ee-')), 'hparams.yaml');
  writeFileSync(f, text);
  return f;
}

const easyEdit = (o: { model: string; n_iter: number; act_ratio: number; param: string; extra?: string }): string =>
  [
    'alg_name: "WISE"',
    `model_name: "${o.model}"`,
    'device: 0',
    'mask_ratio: 0.2',
    'edit_lr: 1.0',
    `n_iter: ${o.n_iter}`,
    'norm_constraint: 1.0',
    'act_margin: [5.0, 20.0, 10.0]',
    `act_ratio: ${o.act_ratio}`,
    'save_freq: 500',
    'merge_freq: 1000',
    "merge_alg: 'ties'",
    "objective_optimization: 'only_label'",
    'inner_params:',
    `- ${o.param}`,
    'densities: 0.53',
    'weights: 1.0',
    'retrieve: True',
    'replay: False',
    o.extra ?? '',
  ].join('\n');

function refusal(text: string): WiseError {
  const f = yamlFile(text);
  try {
    resolveConfig({ file: f, env: {} });
  } catch (e) {
    expect((e as WiseError).code).toBe('WISE_BAD_CONFIG');
    expect((e as WiseError).message).toContain(f);
    return e as WiseError;
  }
  throw new Error('no error');
}

describe('EasyEdit WISE hparams as --config', () => {
  it('maps the llama-7b file onto wise.*, under env and flags', () => {
    const f = yamlFile(easyEdit({ model: './hugging_cache/llama-2-7b', n_iter: 70, act_ratio: 0.88, param: 'model.layers[27].mlp.down_proj.weight' }));
    const family = { wise: { n_iter: 30, act_ratio: 0.5, mode: 'merge' } }; // the file replaces what the family layer set
    const c = resolveConfig({ base: [family], file: f, env: {} });
    expect(c.wise).toMatchObject({
      layer: 27, n_iter: 70, edit_lr: 1, mask_ratio: 0.2, norm_constraint: 1, act_margin: [5, 20, 10], act_ratio: 0.88,
      save_freq: 500, merge_freq: 1000, merge_alg: 'ties', densities: 0.53, weights: 1, mode: 'retrieve', use_chat_template: false,
    });
    expect(c.model).toBeNull(); // model_name is EasyEdit's path; the model is --model
    const over = resolveConfig({ file: f, env: { WISE_WISE__N_ITER: '12' }, flags: { wise: { mode: 'merge' } } });
    expect(over.wise.n_iter).toBe(12);
    expect(over.wise.mode).toBe('merge');
  });

  it("reads gpt2-xl's layer from its c_fc path and qwen2.5's chat template flag", () => {
    const g = resolveConfig({ file: yamlFile(easyEdit({ model: 'openai-community/gpt2-xl', n_iter: 40, act_ratio: 0.8, param: 'transformer.h[8].mlp.c_fc.weight' })), env: {} });
    expect([g.wise.layer, g.wise.n_iter, g.wise.act_ratio]).toEqual([8, 40, 0.8]);
    const q = resolveConfig({ file: yamlFile(easyEdit({ model: 'q', n_iter: 70, act_ratio: 0.88, param: 'model.layers[23].mlp.down_proj.weight', extra: 'model_parallel: False\nuse_chat_template: True\n' })), env: {} });
    expect([q.wise.layer, q.wise.use_chat_template]).toEqual([23, true]);
    const linear = resolveConfig({ file: yamlFile(easyEdit({ model: 'm', n_iter: 5, act_ratio: 0.8, param: 'model.layers[1].mlp.down_proj.weight' }).replace("merge_alg: 'ties'", 'merge_alg: linear')), env: {} });
    expect(linear.wise.merge_alg).toBe('task_arithmetic');
  });

  it('refuses what wise-edit cannot honour, naming the key', () => {
    const base = easyEdit({ model: 'm', n_iter: 70, act_ratio: 0.88, param: 'model.layers[27].mlp.down_proj.weight' });
    const cases: [string, string][] = [
      [base.replace('alg_name: "WISE"', 'alg_name: "ROME"'), 'alg_name'],
      [base.replace('replay: False', 'replay: True'), 'replay'],
      [base.replace("objective_optimization: 'only_label'", "objective_optimization: 'target_new'"), 'objective_optimization'],
      [base.replace('- model.layers[27].mlp.down_proj.weight', '- model.layers[27].mlp.down_proj.weight\n- model.layers[28].mlp.down_proj.weight'), 'inner_params'],
      [base.replace('- model.layers[27].mlp.down_proj.weight', '- lm_head.weight'), 'inner_params'],
      [`${base}\nlearning_rate: 3\n`, 'learning_rate'],
      [base.replace('retrieve: True', 'retrieve: sometimes'), 'retrieve'],
    ];
    for (const [text, field] of cases) {
      const e = refusal(text);
      expect(e.details.field, field).toBe(field);
      expect(e.message).toContain(field);
    }
    // values still go through the strict schema: a bad mask_ratio names wise.mask_ratio
    expect(refusal(base.replace('mask_ratio: 0.2', 'mask_ratio: 3')).message).toContain('mask_ratio');
  });
});
