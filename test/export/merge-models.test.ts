/**
 * `wise merge-models` (src/export/merge-models.ts): two "fine-tunes" of the tiny llama fixture (the base plus seeded
 * noise in every tensor) merged as mergekit recipes ask: linear and task arithmetic against hand-computed tensors,
 * TIES and DELLA through the registry, the output a loadable checkpoint in the recipe's dtype with the base's config
 * and tokenizer and the recipe beside it, the CLI, and the refusals naming the tensor or folder.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mergeModels } from '../../src/export/merge-models.js';
import { mergeRegistry } from '../../src/merge/index.js';
import { tensorT } from '../../src/merge/recipe.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { readSafetensors, SafetensorsFile, writeSafetensors, type F32Tensor } from '../../src/model/safetensors.js';
import { Rng } from '../../src/util/rng.js';
import { WiseError } from '../../src/util/errors.js';
import { REPO_ROOT, describeShared, hfFixtureDir } from '../helpers/shared.js';

const TMP = mkdtempSync(path.join(tmpdir(), 'wise-merge-models-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describeShared('wise merge-models on tiny-llama', () => {
  const base = hfFixtureDir('tiny-llama');
  let tensors: Map<string, F32Tensor>;
  const variants: Record<string, Map<string, F32Tensor>> = {};
  /** A checkpoint folder: the base's files, its tensors plus seeded noise (`drop`: a tensor left out; `reshape`: one cut). */
  const variant = async (name: string, seed: number, o: { drop?: string; cut?: string } = {}): Promise<string> => {
    const dir = path.join(TMP, name);
    mkdirSync(dir, { recursive: true });
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) copyFileSync(path.join(base, f), path.join(dir, f));
    const rng = new Rng(seed);
    const out = new Map<string, F32Tensor>();
    for (const [k, t] of tensors) {
      if (k === o.drop) continue;
      const data = Float32Array.from(t.data, (x) => x + 0.02 * rng.normal());
      out.set(k, k === o.cut ? { data: data.slice(0, t.shape[0]!), shape: [t.shape[0]!] } : { data, shape: [...t.shape] });
    }
    await writeSafetensors(path.join(dir, 'model.safetensors'), out);
    variants[name] = out;
    return dir;
  };
  let a: string;
  let b: string;
  beforeAll(async () => {
    tensors = (await readSafetensors(path.join(base, 'model.safetensors'))).tensors;
    a = await variant('a', 1);
    b = await variant('b', 2);
  });
  const read = async (dir: string) => (await readSafetensors(path.join(dir, 'model.safetensors'))).tensors;

  it('linear and task arithmetic equal the hand-computed tensors; the output loads and runs', async () => {
    const lin = await mergeModels({ merge_method: 'linear', models: [{ model: a, parameters: { weight: 3 } }, { model: b, parameters: { weight: 1 } }] }, path.join(TMP, 'out-linear'));
    expect(lin.tensors).toBe(tensors.size);
    const got = await read(lin.dir);
    for (const [k, t] of tensors) {
      const [x, y] = [variants.a!.get(k)!.data, variants.b!.get(k)!.data];
      got.get(k)!.data.forEach((v, i) => expect(v).toBeCloseTo((3 * x[i]! + y[i]!) / 4, 5));
      expect(got.get(k)!.shape).toEqual(t.shape);
    }
    const ta = await mergeModels({ merge_method: 'task_arithmetic', base_model: base, models: [{ model: base }, { model: a, parameters: { weight: 1 } }, { model: b, parameters: { weight: -0.5 } }], parameters: { lambda: 0.8 } }, path.join(TMP, 'out-ta'));
    expect(ta.plan.models.map((m) => m.dir)).toEqual([a, b]); // the base listed among the models is skipped
    const got2 = await read(ta.dir);
    for (const [k, t] of tensors) {
      const [x, y] = [variants.a!.get(k)!.data, variants.b!.get(k)!.data];
      got2.get(k)!.data.forEach((v, i) => expect(v).toBeCloseTo(t.data[i]! + 0.8 * ((x[i]! - t.data[i]!) - 0.5 * (y[i]! - t.data[i]!)), 5));
    }
    const logits = async (dir: string): Promise<Float32Array> => {
      const lm = await CausalLM.load(dir);
      return (await lm.forward([lm.tokenizer.encodePrompt('The capital of France is')])).logits;
    };
    const [merged, plain] = [await logits(ta.dir), await logits(base)];
    expect(merged.every((x) => Number.isFinite(x))).toBe(true);
    expect(merged.some((x, i) => Math.abs(x - plain[i]!) > 1e-4)).toBe(true);
  });

  it('TIES and DELLA per tensor as the registry merges the deltas; dtype, config, tokenizer and recipe in the folder', async () => {
    for (const [method, registry, params] of [['ties', 'ties', { density: 0.5, lambda: 1 }], ['della', 'della', { density: 0.5, epsilon: 0.15, lambda: 1, seed: 3, rescale: 'l1', normalize: true }]] as const) {
      const recipe = { merge_method: method, base_model: base, models: [{ model: a, parameters: { weight: 0.5, density: 0.5 } }, { model: b, parameters: { weight: 0.5, density: 0.5 } }], parameters: { seed: 3 }, dtype: 'float16' };
      const r = await mergeModels(recipe, path.join(TMP, `out-${method}`));
      expect([r.plan.registry, r.plan.at('model.norm.weight', 1).params]).toEqual([registry, params]);
      const st = await SafetensorsFile.open(path.join(r.dir, 'model.safetensors'));
      try {
        for (const [k, t] of tensors) {
          expect(st.info(k).dtype).toBe('F16');
          const deltas = [variants.a!, variants.b!].map((v) => ({ data: Float32Array.from(v.get(k)!.data, (x, i) => x - t.data[i]!), shape: [...t.shape] }));
          const want = mergeRegistry.merge(registry, { data: t.data, shape: [...t.shape] }, deltas, [0.5, 0.5], params);
          const got = (await st.readFloat32(k)).data;
          got.forEach((v, i) => expect(Math.abs(v - (t.data[i]! + want[i]!))).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(v)))); // f16 rounding
        }
      } finally {
        await st.close();
      }
      expect(readFileSync(path.join(r.dir, 'config.json'), 'utf8')).toBe(readFileSync(path.join(base, 'config.json'), 'utf8'));
      expect(existsSync(path.join(r.dir, 'tokenizer.json'))).toBe(true);
      expect(parse(readFileSync(path.join(r.dir, 'mergekit_config.yml'), 'utf8'))).toEqual(recipe);
    }
  });

  it('SLERP as mergekit\'s README writes it (one slice, t by filter and gradient over the layers): each tensor at its own t', async () => {
    const recipe = {
      merge_method: 'slerp', base_model: base,
      slices: [{ sources: [{ model: base, layer_range: [0, 3] }, { model: a, layer_range: [0, 3] }] }],
      parameters: { t: [{ filter: 'self_attn', value: [0, 0.5, 0.3, 0.7, 1] }, { filter: 'mlp', value: [1, 0.5, 0.7, 0.3, 0] }, { value: 0.5 }] },
    };
    const r = await mergeModels(recipe, path.join(TMP, 'out-slerp'));
    const got = await read(r.dir);
    const tOf = (k: string): number => {
      const at = tensorT(k, 3);
      return k.includes('self_attn') ? [0, 0.5, 0.3, 0.7, 1][Math.round(at * 4)]! : k.includes('mlp') ? [1, 0.5, 0.7, 0.3, 0][Math.round(at * 4)]! : 0.5;
    };
    expect(new Set([...tensors.keys()].map(tOf))).toEqual(new Set([0, 0.3, 1, 0.7, 0.5])); // layers 0, 1, 2 of 3: t 0, 0.5, 1 on the lists
    for (const [k, t] of tensors) {
      const want = mergeRegistry.merge('slerp', { data: t.data, shape: [...t.shape] }, [{ data: Float32Array.from(variants.a!.get(k)!.data, (x, i) => x - t.data[i]!), shape: [...t.shape] }], [1], { t: tOf(k) });
      got.get(k)!.data.forEach((v, i) => expect(v).toBeCloseTo(t.data[i]! + want[i]!, 5));
    }
    const wrongRange = await mergeModels({ ...recipe, slices: [{ sources: [{ model: base, layer_range: [0, 2] }, { model: a, layer_range: [0, 2] }] }] }, path.join(TMP, 'out-slerp-2')).catch((x: unknown) => x);
    expect([(wrongRange as WiseError).code, (wrongRange as WiseError).details.field]).toEqual(['WISE_BAD_CONFIG', 'slices[0].sources[0].layer_range']);
  });

  it('refuses a model without a tensor or with another shape (naming both), and a non-empty output folder', async () => {
    const c = await variant('c', 3, { drop: 'model.norm.weight' });
    const d = await variant('d', 4, { cut: 'model.layers.0.mlp.down_proj.weight' });
    const fails = async (recipe: unknown, out: string): Promise<WiseError> => {
      const e = await mergeModels(recipe, path.join(TMP, out)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(WiseError);
      return e as WiseError;
    };
    const missing = await fails({ merge_method: 'ties', base_model: base, models: [{ model: a }, { model: c }] }, 'out-missing');
    expect([missing.code, missing.details]).toEqual(['WISE_MISSING_WEIGHT', { tensor: 'model.norm.weight', dir: c }]);
    const shape = await fails({ merge_method: 'ties', base_model: base, models: [{ model: a }, { model: d }] }, 'out-shape');
    expect([shape.code, shape.details.tensor, shape.details.dir]).toEqual(['WISE_SHAPE_MISMATCH', 'model.layers.0.mlp.down_proj.weight', d]);
    expect(existsSync(path.join(TMP, 'out-missing'))).toBe(false); // checked before anything is written
    expect((await fails({ merge_method: 'linear', models: [{ model: a }] }, 'out-linear')).code).toBe('WISE_USAGE');
  });

  it('the CLI: wise merge-models RECIPE --out DIR (--json), and a bad recipe exits with the usage code naming the field', () => {
    const recipeFile = path.join(TMP, 'recipe.yml');
    writeFileSync(recipeFile, `merge_method: dare_ties\nbase_model: ${base}\nmodels:\n  - model: ${a}\n    parameters: {weight: 0.5, density: 0.7}\n  - model: ${b}\n    parameters: {weight: 0.5, density: 0.7}\nparameters: {seed: 9}\n`);
    const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), '--json', 'merge-models', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
    const ok = run([recipeFile, '--out', path.join(TMP, 'out-cli')]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ method: 'dare_ties', registry: 'dare_ties', models: [{ dir: a }, { dir: b }], tensors: tensors.size, dtype: 'F32' });
    writeFileSync(recipeFile, `merge_method: nuslerp\nbase_model: ${base}\nmodels: [{model: ${a}}]\n`);
    const bad = run([recipeFile, '--out', path.join(TMP, 'out-cli-2')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('merge_method');
  });
});
