/**
 * EasyEdit's WISE hyperparameter files (hparams/WISE/*.yaml, read by its WISEHyperParams) as a
 * wise-edit config layer, so `--config llama-7b.yaml` from an EasyEdit checkout runs the same
 * settings. A file is taken for EasyEdit's when it has a top-level `alg_name` (no wise-edit
 * config has one). Every key is mapped, ignored for a stated reason, or refused:
 *
 *   edit_lr, n_iter, mask_ratio, norm_constraint, act_margin [α, β, γ], act_ratio, save_freq,
 *   merge_freq, densities, weights, use_chat_template     → wise.<same name>
 *   inner_params [<path>[L]...weight]                      → wise.layer L (one matrix; wise-edit edits
 *                                                            that layer's MLP down projection, also where
 *                                                            EasyEdit's gpt2-xl file names c_fc: README's parity table)
 *   retrieve true / false                                  → wise.mode retrieve / merge
 *   merge_alg                                              → wise.merge_alg (EasyEdit's linear = task_arithmetic,
 *                                                            dare_linear = dare; other names as they are)
 *   alg_name WISE, objective_optimization only_label, replay false   checked (anything else is refused)
 *   model_name, device, model_parallel, batch_size, max_length, save_path, load_path, padding_side,
 *   enable_thinking, attn_implementation, language_model_only       ignored: the model is --model, the
 *                                                            store is --db, and the rest are PyTorch runtime settings
 */
import { WiseError } from '../util/errors.js';

type Doc = Record<string, unknown>;

const SAME_NAME = ['edit_lr', 'n_iter', 'mask_ratio', 'norm_constraint', 'act_margin', 'act_ratio', 'save_freq', 'merge_freq', 'densities', 'weights', 'use_chat_template'];
const IGNORED = ['model_name', 'device', 'model_parallel', 'batch_size', 'max_length', 'save_path', 'load_path', 'padding_side', 'enable_thinking', 'attn_implementation', 'language_model_only'];
const MERGE_NAMES: Record<string, string> = { linear: 'task_arithmetic', dare_linear: 'dare' };

export function isEasyEditHparams(doc: Doc): boolean {
  return Object.prototype.hasOwnProperty.call(doc, 'alg_name');
}

/** The `wise` layer of an EasyEdit WISE hparams mapping read from `file`. */
export function fromEasyEditHparams(doc: Doc, file: string): Doc {
  const bad = (field: string, why: string): WiseError => new WiseError('WISE_BAD_CONFIG', `${file} (EasyEdit hparams): ${field}: ${why}`, { file, field });
  if (doc.alg_name !== 'WISE') throw bad('alg_name', `${JSON.stringify(doc.alg_name)} is not WISE; wise-edit reads EasyEdit's WISE hyperparameters only`);
  const wise: Doc = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'alg_name' || IGNORED.includes(k) || v === null) continue;
    if (SAME_NAME.includes(k)) wise[k] = v;
    else if (k === 'inner_params') wise.layer = layerOf(v, bad);
    else if (k === 'retrieve') {
      if (typeof v !== 'boolean') throw bad(k, 'must be true or false');
      wise.mode = v ? 'retrieve' : 'merge';
    } else if (k === 'merge_alg') {
      if (typeof v !== 'string') throw bad(k, 'must be a merge method name');
      wise.merge_alg = MERGE_NAMES[v] ?? v;
    } else if (k === 'objective_optimization') {
      if (v !== 'only_label') throw bad(k, `${JSON.stringify(v)}: WISE trains on the label tokens only ('only_label')`);
    } else if (k === 'replay') {
      if (v !== false) throw bad(k, "EasyEdit's replay of past edits maps to wise.replay, a count of recent edits; set it in a wise-edit config instead");
    } else throw bad(k, 'not a key of EasyEdit\'s WISEHyperParams');
  }
  return { wise };
}

/** `["model.layers[27].mlp.down_proj.weight"]` → 27. */
function layerOf(v: unknown, bad: (field: string, why: string) => WiseError): number {
  if (!Array.isArray(v) || v.length !== 1 || typeof v[0] !== 'string') throw bad('inner_params', 'must list exactly one parameter (wise-edit edits one matrix)');
  const m = /\[(\d+)\]/.exec(v[0]);
  if (!m) throw bad('inner_params', `${JSON.stringify(v[0])} names no layer index ([N])`);
  return Number(m[1]);
}
