/**
 * A store remembers the training settings it was edited under (meta 'training':
 * routing-keys.ts trainingSettings, every wise.* key except the routing-only ones). The edit log
 * replays, on revert, on `wise db check --deep` and on rebuild, under the settings in force, so an
 * edited store reopened under other ones (another mask_ratio, n_iter, save_freq, …) would train its
 * next edits, and rebuild its old ones, differently from how they were made: reverting one edit
 * would silently retrain its shard's other edits under the new values. Reopening under different
 * training settings is therefore WISE_BAD_CONFIG naming each difference; routing-only settings
 * (act_ratio, route_*, the threshold pools) may change freely, as before.
 *
 * A store without edits takes the settings it is opened with; one from before this record existed
 * records its current settings on open (its edits were made under settings no one wrote down).
 */
import type { WiseConfig } from '../config/schema.js';
import type { JsonValue, ShardStore } from '../shards/index.js';
import { WiseError } from '../util/errors.js';
import { trainingSettings } from './routing-keys.js';

const META = 'training';

/** JSON with object keys sorted at every level, so that equal settings compare equal whatever order a file gave them in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** `wise.key: stored → now` for every training setting whose JSON differs (missing = null; key order ignored). */
export function settingsDiff(stored: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(stored), ...Object.keys(now)])].sort();
  const show = (v: unknown): string => canonical(v);
  return keys.filter((k) => show(stored[k]) !== show(now[k])).map((k) => `wise.${k}: ${show(stored[k])} → ${show(now[k])}`);
}

/**
 * Refuses `cfg` when the store holds edits made under other training settings; records them otherwise.
 * `prefixIds`, the special tokens every edit row starts with (tokenizer.ts prefixIds, BOS for Llama), count as a
 * setting (`prompt_prefix`) when there are any: rows built before they were added replay differently.
 */
export async function guardTrainingSettings(store: ShardStore, cfg: WiseConfig, prefixIds: readonly number[] = []): Promise<void> {
  const settings = { ...trainingSettings(cfg), ...(prefixIds.length > 0 ? { prompt_prefix: [...prefixIds] } : {}) };
  const now = JSON.parse(JSON.stringify(settings)) as Record<string, JsonValue>; // as stored: undefined keys dropped
  const stored = (await store.getMeta(META)) as Record<string, unknown> | undefined;
  const diff = stored ? settingsDiff(stored, now) : ['(none recorded)'];
  if (diff.length === 0) return;
  if (stored && store.nextEditId > 0) {
    throw new WiseError(
      'WISE_BAD_CONFIG',
      `store ${store.location} holds ${store.nextEditId} edit${store.nextEditId === 1 ? '' : 's'} made under other training settings: ${diff.join('; ')}. ` +
        'Its edit log replays (on revert and rebuild) only under the settings it was made with: restore them (for example the --config file it was edited with), or use a new store (--db).',
      { field: 'wise', differences: diff },
    );
  }
  await store.putMeta(META, now);
}
