/**
 * Checkpoint loading (I/O edge of src/model): config.json + model.safetensors, or a sharded checkpoint
 * (model.safetensors.index.json → model-0000i-of-0000n.safetensors; reader and writer here), checked against the ArchSpec:
 * every expected tensor present (WISE_MISSING_WEIGHT) with the shape config.json implies (WISE_SHAPE_MISMATCH).
 * Also hosts the small file helpers tokenizer.ts uses, so that `fs` stays in this file and safetensors.ts.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { WiseError, check } from '../util/errors.js';
import { expectedShapes, type ArchSpec, getArchSpec } from './arch.js';
import { parseEosIds, parseModelConfig, type ModelConfig } from './config.js';
import { DTYPE_BYTES, SafetensorsFile, numel, writeSafetensors, type F32Tensor, type TensorInfo, type TensorToWrite } from './safetensors.js';

export type Weight = F32Tensor;

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Parses a `model.safetensors.index.json` body → tensor name → shard file name. */
export function parseShardIndex(json: unknown, file: string): Map<string, string> {
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  check(wm !== null && typeof wm === 'object' && !Array.isArray(wm), 'WISE_SAFETENSORS_HEADER', `${file}: missing or invalid "weight_map" object`, { file, field: 'weight_map' });
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    check(typeof shard === 'string' && shard.length > 0 && path.basename(shard) === shard && shard !== '..' && shard !== '.', 'WISE_SAFETENSORS_HEADER', `${file}: weight_map["${name}"] must be a file name in the checkpoint folder, got ${JSON.stringify(shard)}`, { file, field: `weight_map.${name}`, tensor: name, value: shard });
    map.set(name, shard);
  }
  return map;
}

/**
 * Writes `tensors` as HF-style shards `model-0000i-of-0000n.safetensors` (each ≤ maxShardBytes of data unless one
 * tensor is larger) plus `model.safetensors.index.json`. Returns the shard file names.
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: ReadonlyMap<string, TensorToWrite>,
  maxShardBytes: number,
  metadata?: Record<string, string>,
): Promise<string[]> {
  const names = [...tensors.keys()].sort();
  const groups: string[][] = [];
  let cur: string[] = [];
  let curBytes = 0;
  let totalBytes = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const bytes = numel(t.shape) * DTYPE_BYTES[t.dtype ?? 'F32'];
    if (cur.length > 0 && curBytes + bytes > maxShardBytes) {
      groups.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(name);
    curBytes += bytes;
    totalBytes += bytes;
  }
  if (cur.length > 0 || groups.length === 0) groups.push(cur);
  const width = 5;
  const files = groups.map((_, i) => `model-${String(i + 1).padStart(width, '0')}-of-${String(groups.length).padStart(width, '0')}.safetensors`);
  const weightMap: Record<string, string> = {};
  for (const [i, group] of groups.entries()) {
    const sub = new Map<string, TensorToWrite>();
    for (const name of group) {
      sub.set(name, tensors.get(name)!);
      weightMap[name] = files[i]!;
    }
    await writeSafetensors(path.join(dir, files[i]!), sub, metadata);
  }
  const index = { metadata: { total_size: totalBytes }, weight_map: weightMap };
  const tmp = path.join(dir, `${INDEX_FILE}.tmp-${process.pid}`);
  await fsp.writeFile(tmp, JSON.stringify(index, null, 2) + '\n');
  await fsp.rename(tmp, path.join(dir, INDEX_FILE));
  return files;
}

export interface Checkpoint {
  dir: string;
  config: ModelConfig;
  spec: ArchSpec;
  /** canonical (spec template) name → f32 data; exactly the tensors of expectedShapes(spec, config) */
  weights: Map<string, Weight>;
  /** tensors in the files that the model does not use (e.g. a tied lm_head, GPT-2 attn.bias buffers) */
  unused: string[];
  /** safetensors files read, relative to dir */
  files: string[];
  /** generation_config.json's eos_token_id (empty without the file): transformers' generate stops on these too */
  generationEosIds: number[];
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    return (await fsp.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Throws WISE_FILE_NOT_FOUND naming the first of `names` missing from `dir`. */
export async function requireFiles(dir: string, names: readonly string[], what = 'file'): Promise<void> {
  for (const name of names) {
    const file = path.join(dir, name);
    if (!(await fileExists(file))) throw new WiseError('WISE_FILE_NOT_FOUND', `${what} not found: ${file}`, { file, dir });
  }
}

/** Reads and parses a JSON file; missing → WISE_FILE_NOT_FOUND, unparsable → `badCode`. */
export async function readJsonFile(file: string, badCode: 'WISE_BAD_CONFIG' | 'WISE_SAFETENSORS_HEADER' | 'WISE_TOKENIZER' = 'WISE_BAD_CONFIG'): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new WiseError('WISE_FILE_NOT_FOUND', `file not found: ${file}`, { file }, { cause: e });
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new WiseError(badCode, `${file}: invalid JSON: ${(e as Error).message}`, { file }, { cause: e });
  }
}

/** Reads `<dir>/config.json` into a ModelConfig. */
export async function loadModelConfig(dir: string): Promise<ModelConfig> {
  const file = path.join(dir, 'config.json');
  return parseModelConfig(await readJsonFile(file, 'WISE_BAD_CONFIG'), file);
}

/** generation_config.json's eos ids, or none when the folder has no such file. */
export async function loadGenerationEos(dir: string, vocabSize: number): Promise<number[]> {
  const file = path.join(dir, 'generation_config.json');
  if (!(await fileExists(file))) return [];
  return parseEosIds(await readJsonFile(file, 'WISE_BAD_CONFIG'), file, vocabSize);
}

/** The safetensors files of a checkpoint folder, opened lazily; tensor name → its file. */
export class TensorSource {
  private constructor(
    readonly dir: string,
    private readonly files: SafetensorsFile[],
    private readonly byName: Map<string, SafetensorsFile>,
  ) {}

  /** Prefers `model.safetensors`; otherwise `model.safetensors.index.json` and its shards. */
  static async open(dir: string): Promise<TensorSource> {
    const single = path.join(dir, SINGLE_FILE);
    const indexFile = path.join(dir, INDEX_FILE);
    if (await fileExists(single)) {
      const st = await SafetensorsFile.open(single);
      return new TensorSource(dir, [st], new Map(st.names().map((n) => [n, st])));
    }
    if (!(await fileExists(indexFile))) {
      throw new WiseError('WISE_FILE_NOT_FOUND', `no weights in ${dir}: neither ${SINGLE_FILE} nor ${INDEX_FILE} exists`, { file: single, index: indexFile, dir });
    }
    const weightMap = parseShardIndex(await readJsonFile(indexFile, 'WISE_SAFETENSORS_HEADER'), indexFile);
    const files: SafetensorsFile[] = [];
    const byShard = new Map<string, SafetensorsFile>();
    const byName = new Map<string, SafetensorsFile>();
    try {
      for (const shard of new Set(weightMap.values())) {
        const st = await SafetensorsFile.open(path.join(dir, shard));
        files.push(st);
        byShard.set(shard, st);
      }
      for (const [name, shard] of weightMap) {
        const st = byShard.get(shard)!;
        if (!st.has(name)) {
          throw new WiseError('WISE_MISSING_WEIGHT', `${indexFile}: weight_map puts '${name}' in ${shard}, which has no such tensor`, { tensor: name, file: st.file, index: indexFile });
        }
        byName.set(name, st);
      }
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
    return new TensorSource(dir, files, byName);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo & { file: string } {
    const st = this.fileOf(name);
    return { ...st.info(name), file: st.file };
  }

  async readFloat32(name: string): Promise<F32Tensor> {
    return this.fileOf(name).readFloat32(name);
  }

  fileNames(): string[] {
    return this.files.map((f) => path.relative(this.dir, f.file));
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }

  private fileOf(name: string): SafetensorsFile {
    const st = this.byName.get(name);
    if (!st) throw new WiseError('WISE_MISSING_WEIGHT', `no tensor '${name}' in ${this.dir}`, { tensor: name, dir: this.dir });
    return st;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Every tensor the model needs, found in `source` with the shape config.json implies (headers only, nothing
 * read): canonical name → name in the files. GPT-2 names may lack the `transformer.` prefix; a tied head's
 * `lm_head.weight` is optional (and ignored). WISE_MISSING_WEIGHT / WISE_SHAPE_MISMATCH name the tensor.
 */
export function matchTensors(dir: string, config: ModelConfig, spec: ArchSpec, source: TensorSource): Map<string, string> {
  const stored = new Map<string, string>();
  for (const [name, shape] of expectedShapes(spec, config)) {
    const prefix = spec.optionalPrefix;
    const alt = prefix !== null && name.startsWith(prefix) ? name.slice(prefix.length) : null;
    const found = source.has(name) ? name : alt !== null && source.has(alt) ? alt : null;
    if (found === null) {
      throw new WiseError('WISE_MISSING_WEIGHT', `${dir}: missing tensor '${name}' (needed by ${config.modelType}, expected shape [${shape.join(', ')}])`, { tensor: name, expected: shape, dir, files: source.fileNames() });
    }
    const info = source.info(found);
    if (!sameShape(info.shape, shape)) {
      throw new WiseError('WISE_SHAPE_MISMATCH', `${info.file}: tensor '${found}' has shape [${info.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`, { tensor: found, expected: shape, got: info.shape, file: info.file });
    }
    stored.set(name, found);
  }
  return stored;
}

/** Loads a checkpoint folder: config.json → ModelConfig + ArchSpec, then every expected tensor (matchTensors) as f32. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const config = await loadModelConfig(dir);
  const spec = getArchSpec(config.modelType);
  const source = await TensorSource.open(dir);
  try {
    const stored = matchTensors(dir, config, spec, source); // canonical → name in file
    const weights = new Map<string, Weight>();
    for (const [name, found] of stored) weights.set(name, await source.readFloat32(found));
    const used = new Set(stored.values());
    const generationEosIds = await loadGenerationEos(dir, config.vocabSize);
    return { dir, config, spec, weights, unused: source.names().filter((n) => !used.has(n)), files: source.fileNames(), generationEosIds };
  } finally {
    await source.close();
  }
}
