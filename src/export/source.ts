/**
 * What an export reads: the model, the edited layer and the memories the router chooses
 * among (the editor's current state), plus the folder helpers both formats share (the
 * output folder, and copying config.json and the tokenizer files beside the weights).
 */
import type { RouteSelect } from '../router/router.js';
import type { RouteStat } from '../router/score.js';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { WiseError } from '../util/errors.js';
import type { CausalLM } from '../model/causal-lm.js';
import { editWeightName } from '../model/arch.js';
import type { RoutedMemory } from '../router/router.js';
import type { WiseEditor } from '../edits/editor.js';

export interface ExportMemory extends RoutedMemory {
  /** edit ids held by this memory (documentation only) */
  editIds: number[];
}

export interface ExportSource {
  lm: CausalLM;
  /** the edited layer */
  layer: number;
  /** routed memories in route order: route 0 = main, route k+1 = memories[k] */
  memories: ExportMemory[];
  /** sequences with more real tokens than this route on the max token score */
  maxMeanTokens: number;
  mode: 'merge' | 'retrieve';
  /** how the router picks among memories past their ε */
  select: RouteSelect;
  /** the routing statistic (router/score.ts) */
  stat: RouteStat;
}

/** The editor's current routing state as an export source. */
export function exportSourceOf(ed: WiseEditor): ExportSource {
  const { memories } = ed.variant();
  const s = ed.state;
  const shardEdits = (id: string): number[] => s.shards.get(id)?.editIds ?? [];
  const editsOf = (id: string): number[] => {
    if (id === 'active') return [...s.active.editIds];
    const merged = s.memories.find((m) => m.id === id);
    if (merged) return merged.shardIds.flatMap(shardEdits);
    return [...shardEdits(id)];
  };
  return {
    lm: ed.lm,
    layer: ed.layer,
    select: ed.cfg.route_select,
    stat: ed.routeStat,
    memories: memories.map((m) => ({ ...m, editIds: editsOf(m.id) })),
    maxMeanTokens: ed.cfg.max_mean_tokens,
    mode: ed.cfg.mode,
  };
}

/** Name of the edited weight (the MLP down projection of `layer`). */
export function editedWeight(src: ExportSource): string {
  return editWeightName(src.lm.spec, src.layer);
}

/** Files copied from the checkpoint folder when present (config.json is required). */
export const COPIED_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
] as const;

/**
 * Creates `dir` (parents included). An existing non-empty folder is refused unless
 * `overwrite`: an export never mixes its files with another one's.
 */
export async function prepareOutDir(dir: string, overwrite = false): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await fsp.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new WiseError('WISE_USAGE', `export destination ${dir} is a file, not a folder`, { location: dir });
    if (code !== 'ENOENT') throw e;
  }
  if (entries.length > 0 && !overwrite) {
    throw new WiseError('WISE_USAGE', `export destination ${dir} is not empty (${entries.length} entries); choose a new folder or pass --force`, { location: dir });
  }
  await fsp.mkdir(dir, { recursive: true });
}

/** Copies config.json and the tokenizer files of the checkpoint into `dir`; returns the names copied. */
export async function copyModelFiles(src: ExportSource, dir: string): Promise<string[]> {
  return copyCheckpointFiles(src.lm.ckpt.dir, dir, COPIED_FILES);
}

/** Copies those of `names` that exist in `from` into `dir` (config.json must); returns the names copied. */
export async function copyCheckpointFiles(from: string, dir: string, names: readonly string[]): Promise<string[]> {
  const copied: string[] = [];
  for (const name of names) {
    try {
      await fsp.copyFile(path.join(from, name), path.join(dir, name));
      copied.push(name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (name === 'config.json') throw new WiseError('WISE_FILE_NOT_FOUND', `${path.join(from, name)} not found`, { file: path.join(from, name) });
    }
  }
  return copied;
}

/** Writes `bytes` (or text) to `file` atomically: temp file, then rename. */
export async function writeFileAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, bytes);
  await fsp.rename(tmp, file);
}
