/**
 * mergekit's YAML recipe (`mergekit-yaml config.yml OUT`) → a merge plan over the registry's methods, for merging
 * whole checkpoints (src/export/merge-models.ts; `wise merge-models`). Pure: no I/O.
 *
 *   merge_method: linear | task_arithmetic | ties | dare_ties | dare_linear | breadcrumbs | breadcrumbs_ties | della | della_linear
 *   base_model: DIR                      (required but for linear; listed in `models` too, it is skipped there, as mergekit does)
 *   models: [{model: DIR, parameters: {weight, density, gamma, epsilon, lambda}}]
 *   parameters: {normalize, rescale, lambda, seed, int8_mask, and any per-model parameter as the default for all}
 *   dtype: float32 | float16 | bfloat16  (the output's; default float32)
 *   tokenizer_source: base | DIR         (whose tokenizer files the output gets; default the base's, or the first model's)
 *
 * Each method and its mergekit defaults (merge_methods/registry.py), on this registry (docs/merge.md):
 *
 *   linear            Σ w_i W_i / Σ w_i (normalize true)             task_arithmetic over a zero base
 *   task_arithmetic   W0 + λ Σ w_i Δ_i (normalize false)              task_arithmetic
 *   ties              density trim, sign election, disjoint mean      ties ('wise' variant = mergekit's ties; normalize must stay true)
 *   dare_ties         random drop, rescale, election, sum             dare_ties (p = 1 − density; rescale l1 as mergekit's, or none)
 *   dare_linear       random drop, rescale, Σ w Δ                     dare
 *   breadcrumbs(_ties) outliers and small entries dropped             breadcrumbs (consensus none / sum)
 *   della(_linear)    MagPrune (epsilon 0.15), rescale l1, …          della / della_linear
 *   slerp             spherical interpolation at t, base and one model slerp (t one number; mergekit's gradients refused)
 *   model_stock       t·mean(W_i) + (1 − t) W0, t from the deltas' angle model_stock (filter_wise)
 *
 * A parameter may be a value, a gradient (a list of numbers interpolated over the layers) or a list of conditions
 * [{filter, value}] (the first whose filter the tensor's name contains, or that has none), as mergekit's
 * evaluate_setting reads them, at t = layer / (layers − 1) for a layer's tensors, 0 for the embeddings before them and
 * 1 for the tensors after them (its planner's pre and post weights); so each tensor has its own values (`at`). Where
 * the registry takes one value per call (density, gamma, epsilon, lambda), the models must agree at every tensor:
 * models that differ are refused, naming the field. `slices` are read in their one common form, a single slice whose
 * sources all span every layer (the same as `models`). The random methods draw from `parameters.seed` (default 0; an
 * extension: mergekit draws from torch's unseeded generator). Other methods (nuslerp, karcher, passthrough, sce,
 * multislerp, …) are refused naming merge_method.
 */
import { z } from 'zod';
import { WiseError } from '../util/errors.js';

export const RECIPE_METHODS = ['linear', 'task_arithmetic', 'ties', 'dare_ties', 'dare_linear', 'breadcrumbs', 'breadcrumbs_ties', 'della', 'della_linear', 'slerp', 'model_stock'] as const;
export type RecipeMethod = (typeof RECIPE_METHODS)[number];

const params = z.record(z.string(), z.unknown()).default({});
const source = z.strictObject({ model: z.string().min(1), parameters: params });
const recipeSchema = z.strictObject({
  merge_method: z.string(),
  base_model: z.string().optional(),
  models: z.array(source).min(1).optional(),
  slices: z.array(z.strictObject({ sources: z.array(source.extend({ layer_range: z.tuple([z.number().int().min(0), z.number().int().min(0)]) })).min(1) })).min(1).optional(),
  parameters: params,
  dtype: z.enum(['float32', 'float16', 'bfloat16']).default('float32'),
  tokenizer_source: z.string().optional(),
  // mergekit fields that change nothing here
  out_dtype: z.enum(['float32', 'float16', 'bfloat16']).optional(),
  chat_template: z.string().optional(),
  name: z.string().optional(),
});

/** One tensor's registry params and per-model weights (already divided by Σ w where the method normalizes that way). */
export interface TensorMerge {
  params: Record<string, unknown>;
  weights: number[];
}

export interface MergePlan {
  method: RecipeMethod;
  /** the registry method */
  registry: string;
  /** the base checkpoint (null: linear, merged over a zero base) */
  base: string | null;
  /** the checkpoints merged in */
  models: { dir: string }[];
  /** slices: the layer range every source spans (checked against the checkpoint: all of its layers) */
  layerRange: [number, number] | null;
  dtype: 'F32' | 'F16' | 'BF16';
  /** where config.json and the tokenizer files come from */
  configFrom: string;
  tokenizerFrom: string;
  /** a tensor's params and weights at `t` (tensorT); WISE_BAD_CONFIG naming the field for a value it cannot take */
  at(tensor: string, t: number): TensorMerge;
}

function bad(field: string, message: string): WiseError {
  return new WiseError('WISE_BAD_CONFIG', `merge recipe: ${field}: ${message}`, { field });
}

/**
 * mergekit's evaluate_setting: a scalar as it is; numbers interpolated at t over the list; other values picked at
 * ⌊t (n − 1)⌋; a list of {filter?, value} the first whose filter `tensor` contains (or that has none), undefined when
 * none does.
 */
export function evaluateSetting(setting: unknown, tensor: string, t: number, field: string): unknown {
  if (!Array.isArray(setting)) {
    if (setting !== null && typeof setting === 'object') throw bad(field, 'expected a value, a list of values over the layers, or [{filter, value}]');
    return setting;
  }
  if (setting.length === 0) throw bad(field, 'an empty list');
  if (setting.every((x) => typeof x === 'number')) {
    const scaled = t * (setting.length - 1);
    const i0 = Math.floor(scaled);
    const i1 = Math.min(setting.length - 1, i0 + 1);
    const frac = scaled - i0;
    return (1 - frac) * (setting[i0] as number) + frac * (setting[i1] as number);
  }
  if (setting.every((x) => x === null || typeof x !== 'object')) return setting[Math.floor(t * (setting.length - 1))];
  for (const [i, c] of setting.entries()) {
    if (c === null || typeof c !== 'object' || Array.isArray(c) || !('value' in c)) throw bad(`${field}[${i}]`, 'expected {filter?, value}');
    const f = (c as { filter?: unknown }).filter;
    if (f !== undefined && typeof f !== 'string') throw bad(`${field}[${i}].filter`, 'expected a string');
    if (f === undefined || tensor.includes(f)) return evaluateSetting((c as { value: unknown }).value, tensor, t, `${field}[${i}].value`);
  }
  return undefined;
}

/** mergekit's t of a tensor: layer i of n at i / (n − 1) (1 when n is 1); the embeddings before the layers 0, the rest after them 1. */
export function tensorT(name: string, layers: number): number {
  const m = /(?:^|\.)(?:layers|h)\.(\d+)\./.exec(name);
  if (m) return layers > 1 ? Number(m[1]) / (layers - 1) : 1;
  return /embed|wte|wpe/.test(name) ? 0 : 1;
}

const KNOWN_PARAMS = new Set(['weight', 'density', 'gamma', 'epsilon', 'lambda', 'normalize', 'rescale', 'seed', 'int8_mask', 't', 'filter_wise']);

/** The plan of a parsed YAML recipe; WISE_BAD_CONFIG naming the field for what it cannot do. */
export function mergePlan(raw: unknown): MergePlan {
  const r = recipeSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.map(String).join('.') || 'recipe';
    throw bad(field, issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message);
  }
  const rec = r.data;
  if (!(RECIPE_METHODS as readonly string[]).includes(rec.merge_method)) {
    throw bad('merge_method', `"${rec.merge_method}" is not supported (supported: ${RECIPE_METHODS.join(', ')})`);
  }
  const method = rec.merge_method as RecipeMethod;
  const { models, where, layerRange } = sourcesOf(rec);
  const global = rec.parameters;
  for (const k of Object.keys(global)) if (!KNOWN_PARAMS.has(k)) throw bad(`parameters.${k}`, 'unknown parameter');
  models.forEach((m, i) => {
    for (const k of Object.keys(m.parameters)) if (!KNOWN_PARAMS.has(k)) throw bad(`${where}[${i}].parameters.${k}`, 'unknown parameter');
  });
  const base = rec.base_model ?? null;
  if (base === null && method !== 'linear') throw bad('base_model', `required by ${method} (the deltas are taken from it)`);
  // the base listed among the models is the base, not a delta
  const merged = models.map((m, i) => ({ ...m, i })).filter((m) => m.model !== base);
  if (merged.length === 0) throw bad(where, 'no model to merge besides the base');
  if (method === 'slerp' && merged.length !== 1) throw bad(where, `slerp interpolates the base and one other model; ${merged.length} given besides the base`);
  if (method === 'model_stock' && merged.length < 2) throw bad(where, `model_stock needs at least two models besides the base; ${merged.length} given`);
  const seed = global.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw bad('parameters.seed', 'expected an integer 0..2^32-1');

  const at = (tensor: string, t: number): TensorMerge => {
    /** a model's value of `key` at this tensor (its own, else the recipe's `parameters`), or the fallback */
    const valueOf = (m: (typeof merged)[number], key: string): unknown => {
      const own = evaluateSetting(m.parameters[key], tensor, t, `${where}[${m.i}].parameters.${key}`);
      return own ?? evaluateSetting(global[key], tensor, t, `parameters.${key}`);
    };
    const number = (m: (typeof merged)[number], key: string, fallback: number): number => {
      const v = valueOf(m, key) ?? fallback;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${where}[${m.i}].parameters.${key}`, `expected a number at ${tensor}, got ${JSON.stringify(v)}`);
      return v;
    };
    /** one value of `key` for all models (the registry takes one per call) */
    const shared = (key: string, fallback: number): number => {
      const values = merged.map((m) => number(m, key, fallback));
      const other = values.findIndex((v) => v !== values[0]);
      if (other >= 0) throw bad(`${where}[${merged[other]!.i}].parameters.${key}`, `${values[other]} differs from ${values[0]} at ${tensor}: this merge takes one ${key} for all models`);
      return values[0]!;
    };
    const flag = (key: string, fallback: boolean): boolean => {
      const v = evaluateSetting(global[key], tensor, t, `parameters.${key}`) ?? fallback;
      if (typeof v !== 'boolean') throw bad(`parameters.${key}`, 'expected true or false');
      return v;
    };
    const weights = merged.map((m) => number(m, 'weight', 1));
    const divide = (normalize: boolean): number[] => {
      const s = weights.reduce((a, b) => a + b, 0);
      return normalize && Math.abs(s) > 1e-8 ? weights.map((w) => w / s) : weights;
    };
    const rescale = flag('rescale', true) ? 'l1' : 'none';
    switch (method) {
      case 'linear':
      case 'task_arithmetic':
        return { params: { lambda: method === 'linear' ? 1 : shared('lambda', 1) }, weights: divide(flag('normalize', method === 'linear')) };
      case 'ties':
        if (!flag('normalize', true)) throw bad('parameters.normalize', 'false is not available for ties here (its election keeps the disjoint mean); use breadcrumbs_ties with gamma 0 for the sum');
        return { params: { density: shared('density', 1), lambda: shared('lambda', 1) }, weights };
      case 'dare_ties':
      case 'dare_linear': {
        const d = shared('density', 1);
        if (!(d > 0 && d <= 1)) throw bad(`${where}[${merged[0]!.i}].parameters.density`, 'expected a number in (0, 1]');
        const normalize = flag('normalize', false);
        const p = { p: 1 - d, seed, rescale, lambda: shared('lambda', 1), ...(method === 'dare_ties' ? { normalize } : {}) };
        return { params: p, weights: method === 'dare_linear' ? divide(normalize) : weights };
      }
      case 'breadcrumbs':
      case 'breadcrumbs_ties':
        return { params: { density: shared('density', 1), gamma: shared('gamma', 0.01), lambda: shared('lambda', 1), consensus: method === 'breadcrumbs' ? 'none' : 'sum', normalize: flag('normalize', false) }, weights };
      case 'della':
      case 'della_linear':
        return { params: { density: shared('density', 1), epsilon: shared('epsilon', 0.15), lambda: shared('lambda', 1), seed, rescale, normalize: flag('normalize', method === 'della') }, weights };
      case 'slerp': {
        const tv = evaluateSetting(global.t, tensor, t, 'parameters.t');
        if (typeof tv !== 'number') throw bad('parameters.t', `required: a number in [0, 1] at ${tensor} (a value, a gradient, or [{filter, value}])`);
        return { params: { t: tv }, weights };
      }
      case 'model_stock':
        return { params: { filter_wise: flag('filter_wise', false) }, weights };
    }
  };

  const dtypeName = rec.out_dtype ?? rec.dtype;
  const dtype = dtypeName === 'float16' ? 'F16' : dtypeName === 'bfloat16' ? 'BF16' : 'F32';
  const first = base ?? merged[0]!.model;
  const tok = rec.tokenizer_source === undefined || rec.tokenizer_source === 'base' ? first : rec.tokenizer_source;
  if (tok === 'union') throw bad('tokenizer_source', '"union" is not supported (the models must share one vocabulary)');
  const registry = { linear: 'task_arithmetic', task_arithmetic: 'task_arithmetic', ties: 'ties', dare_ties: 'dare_ties', dare_linear: 'dare', breadcrumbs: 'breadcrumbs', breadcrumbs_ties: 'breadcrumbs', della: 'della', della_linear: 'della_linear', slerp: 'slerp', model_stock: 'model_stock' }[method];
  return { method, registry, base, models: merged.map((m) => ({ dir: m.model })), layerRange, dtype, configFrom: first, tokenizerFrom: tok, at };
}

/** The recipe's sources: `models`, or the one slice whose sources all span the same layers (mergekit normalizes `models` to that). */
function sourcesOf(rec: z.infer<typeof recipeSchema>): { models: { model: string; parameters: Record<string, unknown> }[]; where: string; layerRange: [number, number] | null } {
  if (rec.models && rec.slices) throw bad('slices', 'give models or slices, not both (as mergekit)');
  if (rec.models) return { models: rec.models, where: 'models', layerRange: null };
  if (!rec.slices) throw bad('models', 'required (or slices)');
  if (rec.slices.length !== 1) throw bad('slices', `${rec.slices.length} slices: only one slice whose sources span every layer is supported (layer stacking is not)`);
  const sources = rec.slices[0]!.sources;
  const range = sources[0]!.layer_range;
  const other = sources.findIndex((s) => s.layer_range[0] !== range[0] || s.layer_range[1] !== range[1]);
  if (other >= 0 || range[0] !== 0) throw bad(`slices[0].sources[${Math.max(other, 0)}].layer_range`, 'every source must span the same layers from 0 to the last (layer stacking is not supported)');
  return { models: sources.map(({ model, parameters }) => ({ model, parameters })), where: 'slices[0].sources', layerRange: range };
}
