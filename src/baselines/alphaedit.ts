/**
 * AlphaEdit (Fang et al., ICLR 2025) as EasyEdit runs it (easyeditor/models/alphaedit:
 * AlphaEdit_main, compute_z, compute_ks): MEMIT's z and keys (memit.ts), with the
 * update of each layer projected onto the null space of the preserved knowledge's keys and
 * regularised toward the keys of the edits made before it:
 *
 *   P     = U₀U₀ᵀ, U₀ the eigenvectors of the unedited keys' second moment C (ff, ff) whose
 *           eigenvalues are below `nullspaceThreshold` (EasyEdit: the SVD of C, S < 2e-2);
 *   C_p   = Σ k kᵀ over the keys of every earlier batch, recomputed after that batch was written
 *           (EasyEdit's cache_c);
 *   ΔWᵀ   = (P (K Kᵀ + C_p) + l2 · I)⁻¹ P K Rᵀ   (ff, d), R the residuals as in MEMIT.
 *
 * The system is solved in the null-space basis: every column of the solution lies in range P
 * (apply I − P to both sides: l2 (I − P) x = 0), so x = U₀ y with
 *   (U₀ᵀ (K Kᵀ + C_p) U₀ + l2 · I) y = U₀ᵀ k,
 * a symmetric positive-definite r × r system (r = the null space's dimension), and C_p is kept
 * projected, G = U₀ᵀ C_p U₀ (r, r). This is the same ΔW as EasyEdit's dense solve, at r³ instead of
 * ff³ per edit.
 *
 * Differences (docs/eval.md): as for MEMIT, the 10 greedy templates and C from the evaluation's
 * train split (1000 texts, not 100,000 Wikipedia texts), with no ridge; the threshold and l2 are
 * EasyEdit's absolute values, so how much of each layer they leave editable depends on the model's
 * activation scale (`nullSpaceDims` reports it).
 */
import type { CausalLM } from '../model/causal-lm.js';
import { WiseError } from '../util/errors.js';
import { choleskyFactor, choleskySolve } from './cholesky.js';
import { symmetricEigen } from './eigen.js';
import { MEMIT_DEFAULTS, MemitMethod, type MemitOptions } from './memit.js';
import type { RomeBatch } from './rome.js';
import { secondMoment } from './second-moment.js';

export interface AlphaEditOptions extends Omit<MemitOptions, 'mass' | 'mom2UpdateWeight' | 'mom2Ridge'> {
  /** L2: the ridge of the projected solve */
  l2: number;
  /** nullspace_threshold: eigenvalues of C below it span the null space */
  nullspaceThreshold: number;
}

/**
 * EasyEdit hparams/AlphaEdit/qwen2.5-7b.yaml (layers as MEMIT's: 4–8 of 32, scaled): its z settings
 * are ROME's and MEMIT's llama-7b ones (lr 0.5, weight decay 1e-3, clamp 4), so the AlphaEdit and
 * MEMIT rows differ only in the solve. llama3-8b.yaml's (lr 0.1, weight decay 0.5, clamp 0.75, L2
 * 10) left the z loss at 1.6–6.0 after 25 iterations on the bundled model, and ten sequential
 * edits at reliability 0.40 (0.57 with the z settings alone changed; docs/eval.md).
 */
export const ALPHAEDIT_DEFAULTS = {
  steps: 25, lr: 0.5, weightDecay: 1e-3, clampNorm: 4, klFactor: 0.0625, stopLoss: 5e-2,
  templates: MEMIT_DEFAULTS.templates, mom2Texts: MEMIT_DEFAULTS.mom2Texts, l2: 1, nullspaceThreshold: 2e-2,
} as const satisfies Partial<AlphaEditOptions>;

export interface NullSpace {
  ff: number;
  /** the null space's dimension */
  r: number;
  /** U₀ (ff, r) row-major: orthonormal columns */
  u: Float64Array;
  /** G = U₀ᵀ C_p U₀ (r, r): the earlier edits' keys, projected */
  g: Float64Array;
}

export class AlphaEditMethod extends MemitMethod {
  readonly alpha: AlphaEditOptions;
  private readonly spaces = new Map<number, NullSpace>();

  constructor(lm: CausalLM, opts: Partial<AlphaEditOptions> & Pick<AlphaEditOptions, 'layers'>, texts: readonly string[] = []) {
    const alpha: AlphaEditOptions = { ...ALPHAEDIT_DEFAULTS, ...opts };
    if (!(alpha.l2 > 0)) throw new WiseError('WISE_BAD_CONFIG', `AlphaEdit l2 ${alpha.l2} must be > 0 (it keeps the projected solve positive definite)`, { field: 'l2' });
    if (!(alpha.nullspaceThreshold >= 0)) throw new WiseError('WISE_BAD_CONFIG', `AlphaEdit nullspaceThreshold ${alpha.nullspaceThreshold} must be ≥ 0`, { field: 'nullspaceThreshold' });
    super(lm, { ...alpha, mass: false, mom2UpdateWeight: null, mom2Ridge: 0, name: opts.name ?? 'alphaedit' }, texts);
    this.alpha = alpha;
  }

  override async reset(): Promise<void> {
    await super.reset();
    for (const s of this.spaces.values()) s.g.fill(0);
  }

  /** The null space's dimension per edited layer (estimating what is not yet estimated). */
  async nullSpaceDims(): Promise<Record<number, number>> {
    const out: Record<number, number> = {};
    for (const l of this.layers) out[l] = (await this.nullSpaceOf(l)).r;
    return out;
  }

  protected override async solve(l: number, keys: readonly Float32Array[]): Promise<Float32Array[]> {
    return nullSpaceSolve(await this.nullSpaceOf(l), keys, this.alpha.l2);
  }

  /** C_p += K Kᵀ with the batch's keys on the model as now written (EasyEdit recomputes them after the update). */
  protected override async afterBatch(batches: readonly RomeBatch[]): Promise<void> {
    for (const b of batches) {
      const { out } = await this.prefix(b);
      for (const l of this.layers) recordKey(await this.nullSpaceOf(l), this.subjectKey(out, l, b));
    }
  }

  /** Layer l's null space and the earlier edits' keys in it; estimated on first use. */
  async nullSpaceOf(l: number): Promise<NullSpace> {
    let s = this.spaces.get(l);
    if (!s) {
      const m = await secondMoment(this.lm, l, this.texts.slice(0, this.alpha.mom2Texts), (t) => this.encode(t), 0);
      s = nullSpace(m.c, m.ff, this.alpha.nullspaceThreshold);
      this.spaces.set(l, s);
    }
    return s;
  }
}

/** U₀: C's eigenvectors with eigenvalues below the threshold, G = 0. Pure. */
export function nullSpace(c: ArrayLike<number>, ff: number, threshold: number): NullSpace {
  const { values, vectors } = symmetricEigen(c, ff);
  let r = 0;
  while (r < ff && (values[r] as number) < threshold) r++; // ascending
  const u = new Float64Array(ff * r);
  for (let p = 0; p < ff; p++) for (let j = 0; j < r; j++) u[p * r + j] = vectors[p * ff + j] as number;
  return { ff, r, u, g: new Float64Array(r * r) };
}

/** x_j = U₀ (U₀ᵀ K Kᵀ U₀ + G + l2 I)⁻¹ U₀ᵀ k_j, one per key: EasyEdit's (P (K Kᵀ + C_p) + l2 I)⁻¹ P k_j. Pure. */
export function nullSpaceSolve(s: NullSpace, keys: readonly Float32Array[], l2: number): Float32Array[] {
  if (s.r === 0) return keys.map(() => new Float32Array(s.ff));
  const pks = keys.map((k) => project(s, k));
  const m = Float64Array.from(s.g);
  for (const pk of pks) addOuter(m, pk, s.r);
  for (let i = 0; i < s.r; i++) m[i * s.r + i] = (m[i * s.r + i] as number) + l2;
  const fac = choleskyFactor(m, s.r);
  return pks.map((pk) => lift(s, choleskySolve(fac, s.r, pk)));
}

/** C_p += k kᵀ, kept as G += (U₀ᵀk)(U₀ᵀk)ᵀ. */
export function recordKey(s: NullSpace, k: ArrayLike<number>): void {
  if (s.r > 0) addOuter(s.g, project(s, k), s.r);
}

/** U₀ᵀ k (r). */
function project(s: NullSpace, k: ArrayLike<number>): Float64Array {
  const y = new Float64Array(s.r);
  for (let p = 0; p < s.ff; p++) {
    const kp = k[p] as number;
    if (kp === 0) continue;
    const o = p * s.r;
    for (let j = 0; j < s.r; j++) y[j] = (y[j] as number) + (s.u[o + j] as number) * kp;
  }
  return y;
}

/** U₀ y (ff). */
function lift(s: NullSpace, y: Float64Array): Float32Array {
  const x = new Float32Array(s.ff);
  for (let p = 0; p < s.ff; p++) {
    let t = 0;
    const o = p * s.r;
    for (let j = 0; j < s.r; j++) t += (s.u[o + j] as number) * (y[j] as number);
    x[p] = t;
  }
  return x;
}

/** m += v vᵀ, m (n, n). */
function addOuter(m: Float64Array, v: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const vi = v[i] as number;
    if (vi === 0) continue;
    for (let j = 0; j < n; j++) m[i * n + j] = (m[i * n + j] as number) + vi * (v[j] as number);
  }
}
