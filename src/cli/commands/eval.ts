/**
 * `wise eval --dataset PATH|bundled --method M [--method M2 …] --edits T[,T2,…] --out DIR`: the
 * lifelong-editing evaluation (EasyEdit protocol, src/eval/lifelong.ts) of WISE and the baselines
 * (src/eval/methods) on one dataset; writes DIR/results.json and DIR/report.html.
 *
 * Every finished chunk is cached under DIR/cache (one JSON file per method, T and chunk), keyed by
 * a fingerprint of the method's settings, the model's edited weight, the dataset and train files'
 * contents and the evaluation options: a rerun with the same DIR only computes what is missing.
 * Progress and an ETA go to stderr (on a TTY, or with --verbose).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { packageRoot } from '../../config/paths.js';
import { WiseEditor } from '../../edits/editor.js';
import { DATASET_KINDS, irrelevantPool, loadDataset, loadTrainSplit, readJsonArray, type DatasetKind, type EvalRecord, type LoadedDataset } from '../../eval/datasets.js';
import { runLifelong, type MethodRun, type Progress } from '../../eval/lifelong.js';
import { createMethod, isMethodName, METHOD_NAMES, WiseMethod } from '../../eval/methods/index.js';
import { FLUENCY_GENERATION } from '../../eval/fluency.js';
import { headline } from '../../eval/metrics.js';
import { writeReport } from '../../eval/report.js';
import { buildResults, configHash, runVersions } from '../../eval/results.js';
import { LevelShardStore, MemoryShardStore } from '../../shards/index.js';
import { WiseError } from '../../util/errors.js';
import { modelDir, openModel } from '../open.js';
import { familyContext, floatArg, intArg } from './common.js';

interface EvalOpts {
  dataset: string;
  format: string;
  train?: string;
  method: string[];
  edits: number[];
  chunks?: number;
  limit?: number;
  out: string;
  graceIter?: number;
  graceEps?: number;
  ftSteps?: number;
  ftLr?: number;
  ftNorm?: number;
  romeSteps?: number;
  romeLayer?: number;
  romeMom2?: boolean;
  memitLayers?: number[];
  alphaeditL2?: number;
  alphaeditThreshold?: number;
  romeLr?: number;
  pplClip?: number;
  fluency?: boolean;
  keepState?: boolean;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function parseTs(v: string): number[] {
  const ts = v.split(',').map((s) => s.trim());
  if (ts.length === 0 || ts.some((t) => !/^[1-9]\d*$/.test(t))) throw new InvalidArgumentError('--edits must be positive integers separated by commas, e.g. 1,10,100');
  return [...new Set(ts.map(Number))].sort((a, b) => a - b);
}

function parseLayers(v: string): number[] {
  const ls = v.split(',').map((s) => s.trim());
  if (ls.length === 0 || ls.some((l) => !/^\d+$/.test(l))) throw new InvalidArgumentError('--memit-layers must be layer indices separated by commas, e.g. 0,1');
  return ls.map(Number);
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);

/**
 * The dataset. `bundled` is datasets/bundled-zsre.json (MEND ZsRE fields) with its train split; its
 * locality prompts are "Q: … A:" facts, not NQ questions, so when the ZsRE loader rejects them for
 * the missing "nq question: " prefix they are mapped here with the loader's field mapping otherwise.
 */
function loadEvalDataset(file: string, format: string, limit: number | undefined, bundled: boolean): LoadedDataset {
  const opts = { format: format as DatasetKind | 'auto', ...(limit !== undefined ? { limit } : {}) };
  try {
    return loadDataset(file, opts);
  } catch (e) {
    if (!(bundled && e instanceof WiseError && e.code === 'WISE_DATASET' && e.details.field === 'loc')) throw e;
  }
  const rows = readJsonArray(file) as Record<string, unknown>[];
  const records: EvalRecord[] = [];
  const skipped: LoadedDataset['skipped'] = [];
  for (const [i, r] of rows.entries()) {
    if (limit !== undefined && records.length >= limit) break;
    const alt = String(r.alt ?? '');
    if (alt.trim() === '') {
      skipped.push({ index: i, reason: 'empty alt' });
      continue;
    }
    const rec: EvalRecord = {
      id: `zsre:${i}`, kind: 'zsre', prompt: String(r.src), target: alt, subject: String(r.subject), rephrase: String(r.rephrase),
      locality: { prompt: String(r.loc), answer: String(r.loc_ans) },
    };
    if (typeof r.pred === 'string') rec.groundTruth = r.pred;
    records.push(rec);
  }
  return { file, kind: 'zsre', records, total: rows.length, skipped };
}

const fmtTime = (ms: number | undefined): string => {
  if (ms === undefined || !Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export function progressLine(p: Progress): string {
  return `${p.method} T=${p.T} chunk ${p.chunk + 1}/${p.chunks} ${p.phase}  edits ${p.editsDone}/${p.editsTotal}  elapsed ${fmtTime(p.elapsedMs)}  ETA ${p.editsTotal === p.editsDone ? '0s' : fmtTime(p.etaMs)}`;
}

const f3 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '  –  ' : x.toFixed(3));

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('lifelong-editing evaluation (EasyEdit protocol) of WISE and baselines; writes results.json and report.html')
    .requiredOption('-d, --dataset <path|bundled>', 'dataset file, or "bundled" (datasets/bundled-zsre.json with datasets/bundled-train.json)')
    .option('--format <kind>', `dataset format: auto|${DATASET_KINDS.join('|')}`, 'auto')
    .option('--train <path>', 'train split for the irrelevant samples (default: the bundled split for --dataset bundled, else wise.train_split or the bundled split)')
    .option('-m, --method <name>', `${METHOD_NAMES.join('|')} (repeatable, or comma-separated)`, collect)
    .requiredOption('-e, --edits <T,...>', 'sequence lengths T to evaluate, comma-separated (e.g. 1,10,100)', parseTs)
    .option('--chunks <n>', 'chunks per T (default: 50/10/2/1 for T = 1/10/100/1000, else 1)', intArg('--chunks', 1))
    .option('--limit <n>', 'use only the first N records of the dataset', intArg('--limit', 1))
    .requiredOption('-o, --out <dir>', 'output folder: results.json, report.html, and cache/ (reruns resume from it)')
    .option('--grace-iter <n>', 'GRACE Adam steps per edit (EasyEdit n_iter: 50 for Llama)', intArg('--grace-iter', 1))
    .option('--grace-eps <x>', 'GRACE initial deferral radius ε (EasyEdit eps: 1.0)', floatArg('--grace-eps', 0, 1e9))
    .option('--ft-steps <n>', 'FT-L/FT-M steps per edit (EasyEdit num_steps: 25)', intArg('--ft-steps', 1))
    .option('--ft-lr <x>', 'FT-L/FT-M Adam learning rate (EasyEdit: 5e-4)', floatArg('--ft-lr', 1e-12, 1e3))
    .option('--ft-norm <x>', 'FT-L/FT-M L∞ norm constraint per edit (default: off, as EasyEdit llama-7b)', floatArg('--ft-norm', 1e-12, 1e9))
    .option('--rome-layer <n>', 'layer whose down projection ROME updates (default ⌊layers · 5/32⌋, as EasyEdit llama-7b: 5 of 32)', intArg('--rome-layer', 0))
    .option('--rome-steps <n>', 'ROME Adam iterations on the value δ per edit (EasyEdit v_num_grad_steps: 25 for llama-7b)', intArg('--rome-steps', 1))
    .option('--rome-lr <x>', 'ROME Adam learning rate on δ (EasyEdit v_lr: 0.5)', floatArg('--rome-lr', 1e-12, 1e3))
    .option('--rome-mom2', "ROME's second-moment adjustment u = C⁻¹k (EasyEdit: on for GPT-2, off for Llama/Qwen/Mistral), C estimated on the train split's texts")
    .option('--memit-layers <l,...>', 'MEMIT/MEMIT-MASS/AlphaEdit layers, comma-separated (default ⌊L·4/32⌋..⌊L·8/32⌋, as EasyEdit llama-7b: 4–8 of 32)', parseLayers)
    .option('--alphaedit-threshold <x>', "AlphaEdit: eigenvalues of the keys' second moment below this span the null space (EasyEdit nullspace_threshold: 2e-2)", floatArg('--alphaedit-threshold', 0, 1e12))
    .option('--alphaedit-l2 <x>', 'AlphaEdit: the ridge of the projected solve (EasyEdit L2: 10)', floatArg('--alphaedit-l2', 1e-12, 1e12))
    .option('--keep-state', "keep each WISE chunk's edited store under DIR/states/ (about 0.7 MB per edit on the bundled model); a rerun whose config differs only in routing settings (act_ratio, threshold_above_edits, threshold_pool, threshold_above_pool, route_*) reopens it instead of applying the edits again")
    .option('--ppl-clip <x>', 'clip rewrite_ppl (hallucination) at this value (EasyEdit issue #531: 100)', floatArg('--ppl-clip', 1, 1e12))
    .option('--fluency', "also score fluency, pre and post: the n-gram entropy of a text sampled from each edit prompt (EasyEdit's test_generation: top-5 sampling to 100 tokens; one generation per record and side)")
    .action(async function (this: Command) {
      const o = this.opts() as EvalOpts;
      const names = o.method && o.method.length > 0 ? [...new Set(o.method)] : ['wise'];
      const bad = names.filter((n) => !isMethodName(n));
      if (bad.length) throw new WiseError('WISE_USAGE', `unknown method ${bad.join(', ')} (expected ${METHOD_NAMES.join('|')})`, { method: bad });
      if (o.format !== 'auto' && !(DATASET_KINDS as readonly string[]).includes(o.format)) {
        throw new WiseError('WISE_USAGE', `unknown --format "${o.format}" (expected auto|${DATASET_KINDS.join('|')})`, { format: o.format });
      }
      const { ctx } = familyContext(this);
      const bundled = o.dataset === 'bundled';
      const root = packageRoot();
      const file = path.resolve(bundled ? path.join(root, 'datasets', 'bundled-zsre.json') : o.dataset);
      const trainFile = o.train ? path.resolve(o.train) : bundled ? path.join(root, 'datasets', 'bundled-train.json') : undefined;
      const ds = loadEvalDataset(file, o.format, o.limit, bundled);
      if (ds.records.length === 0) throw new WiseError('WISE_DATASET', `${file}: no usable records`, { file });
      const pool = trainFile ? loadTrainSplit(trainFile) : irrelevantPool(ctx.config);
      const poolSource = trainFile ?? ctx.config.wise.train_split ?? path.join(root, 'datasets', 'bundled-train.json');
      const outDir = path.resolve(o.out);
      const lm = await openModel(ctx);
      const mdir = modelDir(ctx.config);
      const model = path.basename(mdir);
      const dataset = bundled ? 'bundled-zsre' : path.basename(file).replace(/\.json$/i, '');
      const layer = ctx.config.wise.layer ?? WiseEditor.defaultLayer(lm);
      const evaluate = { ...(o.pplClip !== undefined ? { pplClip: o.pplClip } : {}), ...(o.fluency ? { fluency: { ...FLUENCY_GENERATION } } : {}) };
      const common = { model: WiseEditor.fingerprint(lm, layer), dataset: sha(file), train: sha(poolSource), evaluate, format: o.format };
      ctx.log.info(`${ds.records.length} records (${ds.kind}) from ${file}; ${pool.length} irrelevant samples from ${poolSource}; layer ${layer}`);

      const runs: MethodRun[] = [];
      const settings: Record<string, unknown> = {};
      for (const name of names) {
        const created = createMethod(name, {
          lm, config: ctx.config.wise, pool, newStore: () => new MemoryShardStore(),
          ...(o.keepState
            ? {
                keep: (training: Record<string, unknown>) => ({
                  dir: path.join(outDir, 'states', `${name}-${configHash({ ...common, training }).slice(0, 16)}`),
                  open: (dir: string) => new LevelShardStore(dir, { blobThreshold: ctx.config.store.blob_threshold, sync: false }),
                }),
              }
            : {}),
          grace: { nIter: o.graceIter, initEps: o.graceEps },
          ft: { steps: o.ftSteps, lr: o.ftLr, normConstraint: o.ftNorm },
          rome: { layer: o.romeLayer, steps: o.romeSteps, lr: o.romeLr, mom2: o.romeMom2 },
          memit: { layers: o.memitLayers },
          alphaedit: { layers: o.memitLayers, l2: o.alphaeditL2, nullspaceThreshold: o.alphaeditThreshold },
        });
        settings[name] = created.settings;
        try {
          runs.push(
            await runLifelong(created.method, {
              model, dataset, records: ds.records, irrelevant: pool, ts: o.edits,
              ...(o.chunks !== undefined ? { chunks: o.chunks } : {}),
              // KnowEdit's scores became per-type means (docs/eval.md): its chunks cached before that are recomputed
              cacheDir: path.join(outDir, 'cache'), fingerprint: configHash({ ...common, method: created.settings, ...(ds.kind === 'knowedit' ? { scoring: 'typed' } : {}) }), evaluate,
              onProgress: (p) => ctx.log.progress(progressLine(p)),
            }),
          );
        } finally {
          if (created.method instanceof WiseMethod) await created.method.close();
        }
        if (ctx.log.enabled && process.stderr.isTTY) process.stderr.write('\n');
      }

      const results = buildResults(runs, {
        model, dataset, kind: ds.kind, seed: ctx.config.wise.seed, configHash: configHash({ ...common, settings }),
        versions: runVersions(), createdAt: new Date().toISOString(), records: ds.records.length, skipped: ds.skipped.length,
        notes: [
          `model ${mdir}; every method edits layer ${layer}'s MLP down projection`,
          `irrelevant samples: ${poolSource} (record g ↔ entry g mod ${pool.length})`,
          ...names.map((n) => `${n}: ${JSON.stringify(settings[n])}`),
          'all methods are scored teacher-forced (EasyEdit scores GRACE by greedy generation)',
        ],
      });
      const { resultsPath, htmlPath } = writeReport(outDir, results);
      const lines = ['method          T      n  chunks   Rel.   Gen.   Loc.   Avg.'];
      for (const r of runs) {
        for (const c of r.cells) {
          const h = headline(c.summary.post);
          lines.push(`${r.method.padEnd(14)} ${String(c.T).padStart(4)} ${String(c.n).padStart(6)} ${String(c.chunks).padStart(7)}  ${f3(h.rel)}  ${f3(h.gen)}  ${f3(h.loc)}  ${f3(h.avg)}`);
          if (h.flu !== undefined) lines.push(`${''.padEnd(14)} Flu. ${f3(headline(c.summary.pre).flu)} → ${f3(h.flu)} (n-gram entropy, pre → post)`);
          for (const [label, types] of [['Port.', c.summary.post.portability_keys], ['Loc.', c.summary.post.locality_keys]] as const) {
            if (types) lines.push(`${''.padEnd(14)} ${label} by type: ${Object.entries(types).map(([t, v]) => `${t} ${f3(v)}`).join(', ')}`);
          }
        }
      }
      ctx.out({ results: resultsPath, report: htmlPath, methods: results.methods.map((m) => ({ method: m.method, cells: m.cells.map((c) => ({ T: c.T, n: c.n, chunks: c.chunks, chunksCached: c.chunksCached, post: c.post })) })) }, `${lines.join('\n')}\nwrote ${resultsPath}\n      ${htmlPath}`);
    });
}
