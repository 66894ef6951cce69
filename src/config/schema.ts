/**
 * The one typed config of wise-edit, with every default in one place.
 *
 * Resolution (config/load.ts): defaults < YAML file < WISE_* env < CLI flags.
 * Every object is strict: an unknown key anywhere is an error (zod strictObject at every
 * level, since `.strict()` only covers one level). WISE defaults follow EasyEdit's
 * hparams/WISE/*.yaml (see ../shared/docs/wise-reference.md §2); where we differ on
 * purpose, README's parity table says why.
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const unit = z.number().gt(0).lte(1);

export const EngineSchema = z.strictObject({
  /** onnxruntime intra-op threads; set explicitly (ORT's default oversubscribes). */
  threads: positiveInt.default(2),
  /** Execution provider: 'cpu', or 'cuda' when onnxruntime-node's CUDA binaries are installed. */
  provider: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Budget for cached sessions (serialized graph bytes), in MiB; LRU beyond it. */
  session_budget_mb: positiveInt.default(4096),
  /** onnxruntime intra-op workers spin (busy-wait) between parallel sections: true or false; null = auto,
   *  off for `wise serve` and on for the other commands. Spinning suits one stream of work (an edit's
   *  steps run back to back); under concurrent requests every session's workers spin against each other,
   *  and a routed model has two decode sessions (prefill, steps), so on 2 cores spinning cost routed
   *  serving 20 % of its throughput without edits and 40-50 % with edits training beside it (docs/engine.md,
   *  "Spinning"). */
  spinning: z.boolean().nullable().default(null),
  /** Edits train in a child process with onnxruntime sessions of its own (memory/train-process.ts): true or
   *  false; null = auto, on for `wise serve` and off for the other commands. onnxruntime-node runs every
   *  session on the thread that calls it, so in process an edit's steps take turns with decoding on the one
   *  event loop; in the child they run beside it. The same bits either way (same graphs, same settings);
   *  the child holds its own copy of the step graph's weights. */
  train_process: z.boolean().nullable().default(null),
});

export const WiseSchema = z.strictObject({
  /** Layer whose MLP down projection becomes the side memory; null = the family default. */
  layer: z.number().int().nonnegative().nullable().default(null),
  /** SGD learning rate for W′ (EasyEdit edit_lr). */
  edit_lr: z.number().positive().default(1.0),
  /** Max optimisation steps per edit (EasyEdit n_iter: 70 for llama-7b). */
  n_iter: positiveInt.default(70),
  /** Bernoulli(ρ) gradient-mask density per shard (EasyEdit mask_ratio). */
  mask_ratio: unit.default(0.2),
  /** What one Bernoulli(ρ) draw of the mask covers: 'element' (one weight, WISE/EasyEdit) or 'channel'
   *  (one ff input channel of the down projection, its whole column): the router then scores each memory
   *  on its channels only (about ρ of the FLOPs, exact; memory/masks.ts, router/support.ts). */
  mask_structure: z.enum(['element', 'channel']).default('element'),
  /** L∞ clamp of W′ around W after every step (EasyEdit norm_constraint). */
  norm_constraint: z.number().positive().default(1.0),
  /** Activation-margin loss (α, β, γ): irrelevant < α, edits > β, margin γ. */
  act_margin: z.tuple([z.number(), z.number(), z.number()]).default([5, 20, 10]),
  /** Weight of the margin loss L_a against the edit NLL (WISE: 1). Lower it when a small model's
   *  activation scores are large next to its NLL gradient (the bundled model uses 0.1). */
  margin_weight: z.number().positive().default(1),
  /** The edit score behind ε: the mean over the template rows (EasyEdit), or the bare prompt's: the lower of
   *  its score with the target (teacher-forced evaluation) and without it (what a generation is routed on). */
  threshold_on: z.enum(['templates', 'prompt']).default('templates'),
  /** Raise each edit's threshold score to irrelevant max / act_ratio, so ε never admits the edit's own irrelevant samples (EasyEdit: false). */
  threshold_above_irrelevant: z.boolean().default(false),
  /** Raise each memory's ε above (1 + this) × its highest score on the prompts of applied edits it
   *  does not hold, capped at its own threshold score (router/conflicts.ts); null = off (EasyEdit). */
  threshold_above_edits: z.number().nonnegative().nullable().default(null),
  /** ε = act_ratio × min final edit score (EasyEdit act_ratio). */
  act_ratio: unit.default(0.88),
  /** Edits per shard (EasyEdit save_freq). */
  save_freq: positiveInt.default(500),
  /** Edits between merges; a multiple of save_freq (EasyEdit merge_freq). */
  merge_freq: positiveInt.default(1000),
  /** Merge method name from src/merge's registry. */
  merge_alg: z.string().default('ties'),
  /** Extra parameters of the merge method (validated by its schema); ties takes densities and lambda below. */
  merge_params: z.record(z.string(), z.unknown()).default({}),
  /** TIES density (EasyEdit densities). */
  densities: unit.default(0.53),
  /** Per-shard merge weight (EasyEdit weights). */
  weights: z.number().positive().default(1.0),
  /** Scale of the merged delta (EasyEdit code: 1.0; paper table: 0.5). */
  lambda: z.number().positive().default(1.0),
  /** Router mode: 'merge' (WISE-Merge) or 'retrieve' (WISE-Retrieve, top-1 memory). */
  mode: z.enum(['merge', 'retrieve']).default('merge'),
  /** A sequence's score from its token scores: mean over real tokens (WISE) or max. */
  score_reduce: z.enum(['mean', 'max']).default('mean'),
  /** Routing statistic (our addition): a sequence's routing score is the mean of its route_topk
   *  highest token scores (0 = the mean over all tokens, WISE). Training keeps score_reduce. */
  route_topk: z.number().int().nonnegative().default(0),
  /** Routing statistic (our addition): each token's score divided by ‖A(x)_t‖ (false = WISE's raw norm). */
  route_normalize: z.boolean().default(false),
  /** Thresholds from held-out text (our addition): each memory's ε is raised to threshold_above_pool ×
   *  its highest routing score on threshold_pool texts of the irrelevant-sample pool (a seeded choice);
   *  0 = off. */
  threshold_pool: z.number().int().nonnegative().default(0),
  /** The factor of threshold_pool's rule. */
  threshold_above_pool: z.number().positive().default(1),
  /** threshold_pool's rule from the spread instead of the maximum (our addition): when > 0, each
   *  memory's floor is mean + threshold_pool_z × std of its scores on the pool texts, and
   *  threshold_above_pool is not used; 0 = the maximum rule. */
  threshold_pool_z: z.number().nonnegative().default(0),
  /** Arithmetic of the routing scores (our addition): float32 (exact, as EasyEdit) or int8 (every memory
   *  scored by an integer MatMul, 2.4–3.2× cheaper per memory as measured; the chosen memory's output stays exact
   *  float32; thresholds are scored the same way). router/quant.ts. */
  route_score_dtype: z.enum(['float32', 'int8']).default('float32'),
  /** Among memories past their ε: highest raw score (EasyEdit) or highest score / ε. */
  route_select: z.enum(['score', 'ratio']).default('score'),
  /** Routing score: the paper's ‖A(x)(W′−W)ᵀ‖ or EasyEdit's ‖σ(AW′ᵀ)−σ(AWᵀ)‖. */
  score: z.enum(['paper', 'activation']).default('paper'),
  /** Weight decay on W′ (EasyEdit 1e-5 also shrinks unmasked entries; we default to 0). */
  weight_decay: z.number().nonnegative().default(0),
  /** Early stop: |Δloss| ≤ tol and loss ≤ early_stop_loss. */
  early_stop_tol: z.number().nonnegative().default(1e-4),
  early_stop_loss: z.number().nonnegative().default(0.02),
  /** Number of context-template prefixes (the paper's 10, plus the bare prompt). */
  context_templates: z.number().int().nonnegative().default(10),
  /** Sequences longer than this route on the max token score instead of the mean. */
  max_mean_tokens: positiveInt.default(100),
  /** Where irrelevant samples come from: 'pool' (a train split) or 'request' (the edit's locality prompt). */
  irrelevant: z.enum(['pool', 'request']).default('pool'),
  /** Random irrelevant samples per edit (EasyEdit: 1); more of them tighten locality. */
  irrelevant_count: positiveInt.default(1),
  /** Extra irrelevant samples chosen as the pool texts most similar to the prompt (hard negatives; EasyEdit: 0). */
  irrelevant_similar: z.number().int().nonnegative().default(0),
  /** Earlier edits (the most recent ones) added as irrelevant samples, WISE's replay (EasyEdit: off). */
  replay: z.number().int().nonnegative().default(0),
  /** EasyEdit's use_chat_template, for chat models queried through their chat template: every text the editor
   *  runs as a sequence of its own (edit rows under each context template, the bare prompt, irrelevant samples,
   *  pool and replay texts) is the checkpoint's chat template around it as one user message, with the generation
   *  prompt; the target follows (EasyEdit wraps the edit rows only; wrapping the negatives too keeps the template's
   *  own tokens from becoming the edit's key). Needs a chat_template in tokenizer_config.json. */
  use_chat_template: z.boolean().default(false),
  /** After training an edit, the applied edits outside its memory on whose prompt+target it scores at
   *  least this fraction of its would-be ε become irrelevant samples too, and the edit is retrained
   *  once from the same start (recorded with the edit, so a replay is exact); null = off (EasyEdit). */
  replay_conflicts: z.number().positive().nullable().default(null),
  /** Project every gradient step off the top project_rank principal directions of generic text's
   *  activations at the edited layer (memory/projection.ts); 0 = off (WISE/EasyEdit have no such step). */
  project_rank: z.number().int().nonnegative().default(0),
  /** Pool texts (the first ones) whose activations give those directions. */
  project_samples: positiveInt.default(400),
  /** Train split for the irrelevant samples (EasyEdit JSON, ZsRE or CounterFact); null = the bundled train split. */
  train_split: z.string().nullable().default(null),
  /** Seed for masks and irrelevant-sample choice; each shard records its own derived seed. */
  seed: z.number().int().nonnegative().default(42),
});

export const StoreSchema = z.strictObject({
  /** Store directory; null = the per-user data directory. */
  db: z.string().nullable().default(null),
  /** Blobs at least this many bytes go to content-addressed files, not LevelDB. */
  blob_threshold: z.number().int().nonnegative().default(1 << 20),
  /** fsync every batch (survives power loss at a cost; process crashes are safe either way). */
  sync: z.boolean().default(false),
});

export const ServeSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  body_limit: positiveInt.default(1 << 20),
  max_prompt_tokens: positiveInt.default(512),
  /**
   * Rows decoded together, from one request's prompts × n choices or from several requests
   * (continuous batching; each row as alone, up to float rounding; docs/serve.md). 1 = one after another.
   */
  batch_size: positiveInt.max(64).default(8),
  /**
   * Responses API: how many responses the server keeps in memory for previous_response_id and GET/DELETE
   * /v1/responses/{id} (least recently used out first; lost on restart). 0 keeps none (previous_response_id is then refused).
   */
  responses_store: z.number().int().min(0).max(100_000).default(256),
});

export const ConfigSchema = z.strictObject({
  /** Checkpoint folder (config.json + safetensors + tokenizer); null = the bundled model. */
  model: z.string().nullable().default(null),
  engine: EngineSchema.default(EngineSchema.parse({})),
  wise: WiseSchema.default(WiseSchema.parse({})),
  store: StoreSchema.default(StoreSchema.parse({})),
  serve: ServeSchema.default(ServeSchema.parse({})),
  log: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).default({ level: 'info' }),
});

export type Config = z.infer<typeof ConfigSchema>;
export type WiseConfig = z.infer<typeof WiseSchema>;
export type EngineConfig = z.infer<typeof EngineSchema>;

/** All defaults, as one object. */
export const DEFAULTS: Config = ConfigSchema.parse({});
