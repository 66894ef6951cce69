/**
 * The editing methods the evaluation harness can run, by CLI name:
 *
 *   wise           WISE-Merge (src/edits WiseEditor, config.mode 'merge')
 *   wise-retrieve  WISE-Retrieve (config.mode 'retrieve')
 *   grace          GRACE codebook at the WISE layer's down projection (src/baselines/grace.ts)
 *   ft-l           EasyEdit FT, objective prompt_last (src/baselines/ft.ts)
 *   ft-m           EasyEdit FT, objective target_new
 *   rome           EasyEdit ROME, rank-one update of the down projection (src/baselines/rome.ts)
 *   r-rome         R-ROME (EasyEdit r_rome): ROME whose update uses the templates' mean key and output (prefixKeys)
 *   memit          EasyEdit MEMIT, one edit at a time, over a range of early layers (src/baselines/memit.ts)
 *   memit-mass     MEMIT with each chunk's edits as one batch (the paper's MEMIT-MASS)
 *   alphaedit      EasyEdit AlphaEdit: MEMIT's update projected onto the preserved keys' null space,
 *                  one edit at a time (src/baselines/alphaedit.ts)
 *
 * Every method but ROME edits the same layer: `config.layer` (the family config), else the editor's default.
 * ROME, MEMIT and AlphaEdit edit their own early layers (`romeDefaultLayer`, `memitDefaultLayers`,
 * or their options): their δ sits on the subject's token.
 * `createMethod` also returns the method's effective settings, for cache fingerprints and the report.
 */
import type { WiseConfig } from '../../config/schema.js';
import { WiseEditor } from '../../edits/editor.js';
import type { CausalLM } from '../../model/causal-lm.js';
import { FT_DEFAULTS, FtMethod, type FtOptions } from '../../baselines/ft.js';
import { GRACE_DEFAULTS, GraceMethod, type GraceOptions } from '../../baselines/grace.js';
import { ROME_DEFAULTS, RomeMethod, romeDefaultLayer, type RomeOptions } from '../../baselines/rome.js';
import { MEMIT_DEFAULTS, MemitMethod, memitDefaultLayers, type MemitOptions } from '../../baselines/memit.js';
import { ALPHAEDIT_DEFAULTS, AlphaEditMethod, type AlphaEditOptions } from '../../baselines/alphaedit.js';
import { WiseError } from '../../util/errors.js';
import type { EditMethod } from '../lifelong.js';
import { trainingSettings } from '../../edits/routing-keys.js';
import { WiseMethod, type KeptStates, type StoreFactory } from './wise.js';

export { WiseMethod, type KeptStates, type StoreFactory, type WiseMethodOptions } from './wise.js';

export const METHOD_NAMES = ['wise', 'wise-retrieve', 'grace', 'ft-l', 'ft-m', 'rome', 'r-rome', 'memit', 'memit-mass', 'alphaedit'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export function isMethodName(s: string): s is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(s);
}

export interface MethodContext {
  lm: CausalLM;
  /** The resolved WISE config (its `layer` is every method's layer). */
  config: WiseConfig;
  /** The train split's irrelevant samples. */
  pool: readonly string[];
  /** A new empty store per WISE reset. */
  newStore: StoreFactory;
  /**
   * Kept states for WISE (`wise eval --keep-state`): given what WISE's edited stores depend on (the
   * method and its training settings, edits/routing-keys.ts), where to keep them.
   */
  keep?: (training: Record<string, unknown>) => KeptStates;
  grace?: Partial<Omit<GraceOptions, 'layer'>>;
  ft?: Partial<Omit<FtOptions, 'layer' | 'objective'>>;
  rome?: Partial<RomeOptions>;
  memit?: Partial<MemitOptions>;
  alphaedit?: Partial<AlphaEditOptions>;
}

export interface CreatedMethod {
  method: EditMethod;
  /** Everything that changes the method's results (hashed into the cache fingerprint). */
  settings: Record<string, unknown>;
}

const defined = <T extends object>(o: T | undefined): Partial<T> => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;

export function createMethod(name: string, c: MethodContext): CreatedMethod {
  const layer = c.config.layer ?? WiseEditor.defaultLayer(c.lm);
  if (c.config.use_chat_template && (name !== 'wise' && name !== 'wise-retrieve')) {
    // WISE scores chat-formatted prompts under the option; a baseline beside it would be measured on other rows
    throw new WiseError('WISE_BAD_CONFIG', `wise.use_chat_template: the ${name} baseline edits and scores plain-text prompts, so it cannot be compared with WISE under the chat template; evaluate it in a run without the option`, { field: 'wise.use_chat_template', method: name });
  }
  switch (name) {
    case 'wise':
    case 'wise-retrieve': {
      const config: WiseConfig = { ...c.config, layer, mode: name === 'wise' ? 'merge' : 'retrieve' };
      const keep = c.keep?.({ method: name, ...trainingSettings(config) });
      return { method: new WiseMethod({ lm: c.lm, config, pool: c.pool, newStore: c.newStore, name, ...(keep ? { keep } : {}) }), settings: { method: name, ...config } };
    }
    case 'grace': {
      const opts: GraceOptions = { ...GRACE_DEFAULTS, ...defined(c.grace), layer, name };
      return { method: new GraceMethod(c.lm, opts), settings: { method: name, ...opts } };
    }
    case 'ft-l':
    case 'ft-m': {
      const opts: FtOptions = { ...FT_DEFAULTS, ...defined(c.ft), layer, objective: name === 'ft-l' ? 'prompt_last' : 'target_new', name };
      return { method: new FtMethod(c.lm, opts), settings: { method: name, ...opts } };
    }
    case 'rome':
    case 'r-rome': {
      const opts: RomeOptions = { ...ROME_DEFAULTS, layer: romeDefaultLayer(c.lm.config.numLayers), ...defined(c.rome), prefixKeys: name === 'r-rome', name };
      return { method: new RomeMethod(c.lm, opts, c.pool), settings: { method: name, ...opts } };
    }
    case 'memit':
    case 'memit-mass': {
      const opts: MemitOptions = { ...MEMIT_DEFAULTS, layers: memitDefaultLayers(c.lm.config.numLayers), ...defined(c.memit), mass: name === 'memit-mass', name };
      return { method: new MemitMethod(c.lm, opts, c.pool), settings: { method: name, ...opts } };
    }
    case 'alphaedit': {
      const opts: AlphaEditOptions = { ...ALPHAEDIT_DEFAULTS, layers: memitDefaultLayers(c.lm.config.numLayers), ...defined(c.alphaedit), name };
      return { method: new AlphaEditMethod(c.lm, opts, c.pool), settings: { method: name, ...opts } };
    }
    default:
      throw new WiseError('WISE_USAGE', `unknown method "${name}" (expected ${METHOD_NAMES.join('|')})`, { method: name });
  }
}
