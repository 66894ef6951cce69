/**
 * GPT-2's attention-scale flags (`scale_attn_weights`, `scale_attn_by_inverse_layer_idx`). Checked without the
 * graph's scale code: multiplying layer i's query projection (the first n_embd columns of c_attn, and its bias)
 * by s multiplies that layer's scores by s, so a flag must equal the default model with q scaled to match.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CausalLM } from '../../src/model/causal-lm.js';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../src/model/safetensors.js';
import { describeShared, hfFixtureDir } from '../helpers/shared.js';
import { maxDiff } from '../helpers/model-checks.js';

const PROMPT = [5, 17, 300, 42, 7, 99, 250, 3];
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** tiny-gpt2 with `patch` over config.json and layer i's query projection scaled by qScale(i). */
async function variant(patch: Record<string, unknown>, qScale: (layer: number) => number): Promise<string> {
  const src = hfFixtureDir('tiny-gpt2');
  const dir = mkdtempSync(path.join(tmpdir(), 'wise-gpt2-scale-'));
  dirs.push(dir);
  const config = JSON.parse(readFileSync(path.join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, ...patch }));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) writeFileSync(path.join(dir, f), readFileSync(path.join(src, f)));
  const { tensors } = await readSafetensors(path.join(src, 'model.safetensors'));
  const d = config.n_embd as number;
  const out = new Map<string, TensorToWrite>();
  for (const [name, t] of tensors) {
    const m = /^transformer\.h\.(\d+)\.attn\.c_attn\.(weight|bias)$/.exec(name);
    const s = m ? qScale(Number(m[1])) : 1;
    if (s === 1) {
      out.set(name, t);
      continue;
    }
    const data = Float32Array.from(t.data);
    const cols = t.shape[t.shape.length - 1]!; // Conv1D weight (in, 3d); bias (3d)
    for (let k = 0; k < data.length; k++) if (k % cols < d) data[k] = data[k]! * s;
    out.set(name, { shape: t.shape, data });
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), out);
  return dir;
}

const logits = async (dir: string): Promise<Float32Array> => (await (await CausalLM.load(dir)).forward([PROMPT])).logits;

describeShared('GPT-2 attention scale flags', () => {
  it('scale_attn_by_inverse_layer_idx equals the default model with layer i’s query divided by i + 1', async () => {
    const flagged = await logits(await variant({ scale_attn_by_inverse_layer_idx: true }, () => 1));
    const scaledQ = await logits(await variant({}, (i) => 1 / (i + 1)));
    const plain = await logits(hfFixtureDir('tiny-gpt2'));
    expect(maxDiff(flagged, scaledQ)).toBeLessThanOrEqual(1e-4);
    expect(maxDiff(flagged, plain)).toBeGreaterThan(1e-3);
  });

  it('scale_attn_weights: false equals the default model with every query multiplied by √head_dim', async () => {
    const headDim = 64 / 4;
    const flagged = await logits(await variant({ scale_attn_weights: false }, () => 1));
    const scaledQ = await logits(await variant({}, () => Math.sqrt(headDim)));
    expect(maxDiff(flagged, scaledQ)).toBeLessThanOrEqual(1e-4);
    expect(maxDiff(flagged, await logits(hfFixtureDir('tiny-gpt2')))).toBeGreaterThan(1e-3);
  });
}, ['fixtures/hf/tiny-gpt2']);
