/**
 * The wise.* settings that only the router reads. The side memories, shards, merged memories
 * and the edit log do not depend on them: ε is derived from the state and the log on open
 * (editor.withEps) and never stored as the router's input, so an edited store can be reopened
 * under other values of these and routes as if it had been edited under them.
 *
 * act_ratio and the routing statistic (route_topk, route_normalize) also feed training when
 * wise.replay_conflicts or wise.threshold_above_irrelevant is on (they pick the conflicts and
 * raise the threshold score); they count as routing settings only when both are off. A merged
 * memory's record keeps act_ratio × its threshold score as an informational `threshold`; the
 * router recomputes ε, so a reopened store under another act_ratio routes by the new one.
 */
import type { WiseConfig } from '../config/schema.js';

const ALWAYS: readonly (keyof WiseConfig)[] = ['threshold_above_edits', 'threshold_pool', 'threshold_above_pool', 'threshold_pool_z', 'route_select', 'route_score_dtype'];
const UNLESS_TRAINED: readonly (keyof WiseConfig)[] = ['act_ratio', 'route_topk', 'route_normalize'];

/** The keys of `cfg` that change routing only (see above). */
export function routingOnlyKeys(cfg: WiseConfig): (keyof WiseConfig)[] {
  const trainingReadsThem = cfg.replay_conflicts !== null || cfg.threshold_above_irrelevant;
  return trainingReadsThem ? [...ALWAYS] : [...ALWAYS, ...UNLESS_TRAINED];
}

/**
 * Training keys added after stores were kept, at a value that trains exactly as before they existed
 * (or that has no effect): left out of trainingSettings there, so that a state kept before the key
 * existed still matches. mask_structure: 'element' is the mask every store had; at ρ = 1 both
 * structures give the all-ones mask.
 */
const inert = (cfg: WiseConfig): (keyof WiseConfig)[] => [
  ...(cfg.mask_structure === 'element' || cfg.mask_ratio === 1 ? (['mask_structure'] as const) : []),
  ...(cfg.use_chat_template ? [] : (['use_chat_template'] as const)), // off: texts as every earlier store had them
];

/** `cfg` without its routing-only keys: what an edited store depends on. */
export function trainingSettings(cfg: WiseConfig): Partial<WiseConfig> {
  const drop = new Set<string>([...routingOnlyKeys(cfg), ...inert(cfg)]);
  return Object.fromEntries(Object.entries(cfg).filter(([k]) => !drop.has(k))) as Partial<WiseConfig>;
}
