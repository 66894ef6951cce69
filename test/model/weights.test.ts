import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWiseError, type ErrorCode } from '../../src/util/errors.js';
import { expectedShapes, getArchSpec } from '../../src/model/arch.js';
import { parseModelConfig } from '../../src/model/config.js';
import { SafetensorsFile, readSafetensors, writeSafetensors, type TensorToWrite } from '../../src/model/safetensors.js';
import { loadCheckpoint, writeShardedSafetensors } from '../../src/model/weights.js';
import { HF_FIXTURES, describeShared, hfFixtureDir, readSharedJson } from '../helpers/shared.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'wise-ckpt-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function expectCode(p: Promise<unknown>, code: ErrorCode, mentions: string[] = []): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isWiseError(err), `expected WiseError ${code}, got ${String(err)}`).toBe(true);
  if (isWiseError(err)) {
    expect(err.code).toBe(code);
    for (const m of mentions) expect(err.message + JSON.stringify(err.details)).toContain(m);
  }
}

const TINY_LLAMA = { model_type: 'llama', vocab_size: 40, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 12, max_position_embeddings: 16, rms_norm_eps: 1e-6, hidden_act: 'silu' };

/** A synthetic checkpoint folder with every expected tensor, optionally altered. */
async function makeCheckpoint(name: string, config: Record<string, unknown>, alter?: (t: Map<string, TensorToWrite>) => void): Promise<string> {
  const dir = path.join(tmp, name);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  const cfg = parseModelConfig(config);
  const tensors = new Map<string, TensorToWrite>();
  let k = 0;
  for (const [n, shape] of expectedShapes(getArchSpec(cfg.modelType), cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => (k++ % 17) / 17 - 0.5);
    tensors.set(n, { shape, data });
  }
  alter?.(tensors);
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  return dir;
}

describe('loadCheckpoint (synthetic)', () => {
  it('loads a synthetic llama checkpoint', async () => {
    const dir = await makeCheckpoint('ok', TINY_LLAMA);
    const ck = await loadCheckpoint(dir);
    expect(ck.spec.name).toBe('llama');
    expect(ck.weights.get('model.layers.1.mlp.down_proj.weight')!.shape).toEqual([8, 12]);
    expect(ck.weights.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([4, 8]);
    expect(ck.unused).toEqual([]);
    expect(ck.files).toEqual(['model.safetensors']);
  });

  it('loads a sharded checkpoint identically', async () => {
    const single = await makeCheckpoint('single', TINY_LLAMA);
    const dir = path.join(tmp, 'sharded');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    await copyFile(path.join(single, 'config.json'), path.join(dir, 'config.json'));
    const { tensors } = await readSafetensors(path.join(single, 'model.safetensors'));
    const files = await writeShardedSafetensors(dir, tensors, 1000);
    expect(files.length).toBeGreaterThan(2);
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors.index.json', ...files].sort());
    const a = await loadCheckpoint(single);
    const b = await loadCheckpoint(dir);
    expect(b.files).toEqual(files);
    expect([...b.weights.keys()]).toEqual([...a.weights.keys()]);
    for (const [n, w] of a.weights) expect(b.weights.get(n)).toEqual(w);
  });

  it('shape mismatch against config.json → WISE_SHAPE_MISMATCH naming tensor, expected and got', async () => {
    const dir = await makeCheckpoint('shape', TINY_LLAMA, (t) => t.set('model.layers.1.mlp.down_proj.weight', { shape: [12, 8], data: new Float32Array(96) }));
    await expectCode(loadCheckpoint(dir), 'WISE_SHAPE_MISMATCH', ['model.layers.1.mlp.down_proj.weight', '[12, 8]', '[8, 12]']);
  });

  it('missing tensor → WISE_MISSING_WEIGHT naming it', async () => {
    const dir = await makeCheckpoint('missing', TINY_LLAMA, (t) => t.delete('model.layers.0.post_attention_layernorm.weight'));
    await expectCode(loadCheckpoint(dir), 'WISE_MISSING_WEIGHT', ['model.layers.0.post_attention_layernorm.weight']);
    const biased = await makeCheckpoint('missing-bias', { ...TINY_LLAMA, attention_bias: true }, (t) => t.delete('model.layers.1.self_attn.o_proj.bias'));
    await expectCode(loadCheckpoint(biased), 'WISE_MISSING_WEIGHT', ['model.layers.1.self_attn.o_proj.bias']);
  });

  it('unsupported model_type → WISE_UNSUPPORTED_MODEL', async () => {
    const dir = await makeCheckpoint('unsupported', TINY_LLAMA);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...TINY_LLAMA, model_type: 'bert' }));
    await expectCode(loadCheckpoint(dir), 'WISE_UNSUPPORTED_MODEL', ['bert', 'llama']);
  });

  it('missing files → WISE_FILE_NOT_FOUND naming the file', async () => {
    await expectCode(loadCheckpoint(path.join(tmp, 'no-such-dir')), 'WISE_FILE_NOT_FOUND', ['config.json']);
    const dir = path.join(tmp, 'config-only');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(TINY_LLAMA));
    await expectCode(loadCheckpoint(dir), 'WISE_FILE_NOT_FOUND', ['model.safetensors']);
    // a shard listed in the index that does not exist
    await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': 'model-00001-of-00002.safetensors' } }));
    await expectCode(loadCheckpoint(dir), 'WISE_FILE_NOT_FOUND', ['model-00001-of-00002.safetensors']);
    await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': '../x.safetensors' } }));
    await expectCode(loadCheckpoint(dir), 'WISE_SAFETENSORS_HEADER', ['weight_map']);
  });

  it('bad config.json JSON → WISE_BAD_CONFIG', async () => {
    const dir = await makeCheckpoint('badjson', TINY_LLAMA);
    await writeFile(path.join(dir, 'config.json'), '{"model_type": "llama",');
    await expectCode(loadCheckpoint(dir), 'WISE_BAD_CONFIG', ['config.json']);
  });
});

describeShared('loadCheckpoint (HF fixtures)', () => {
  it.each(HF_FIXTURES)('%s: every expected tensor present with the right shape, nothing left over', async (name) => {
    const dir = hfFixtureDir(name);
    const ck = await loadCheckpoint(dir);
    const expected = expectedShapes(ck.spec, ck.config);
    const st = await SafetensorsFile.open(path.join(dir, 'model.safetensors'));
    try {
      expect(new Set(ck.weights.keys())).toEqual(new Set(st.names()));
      for (const [n, shape] of expected) {
        const w = ck.weights.get(n)!;
        expect(w.shape, n).toEqual(shape);
        expect(w.shape, n).toEqual(st.info(n).shape);
        expect(w.data.length).toBe(shape.reduce((a, b) => a * b, 1));
      }
    } finally {
      await st.close();
    }
    expect(ck.unused).toEqual([]);
    const ref = readSharedJson<{ edit_weight: string; edit_weight_shape: number[] }>(`fixtures/hf/${name}/reference.json`);
    expect(ck.weights.get(ref.edit_weight)!.shape).toEqual(ref.edit_weight_shape);
    // 1-D parameters were perturbed away from 0/1 (README): make sure the values came through
    const norm = ck.weights.get(ck.spec.finalNorm.weight)!.data;
    expect(norm.some((v) => v !== 1)).toBe(true);
  });

  it('gpt2 without the transformer. prefix and with a tied lm_head still loads canonically', async () => {
    const { tensors } = await readSafetensors(path.join(hfFixtureDir('tiny-gpt2'), 'model.safetensors'));
    const dir = path.join(tmp, 'gpt2-noprefix');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    await copyFile(path.join(hfFixtureDir('tiny-gpt2'), 'config.json'), path.join(dir, 'config.json'));
    const stripped = new Map<string, TensorToWrite>();
    for (const [n, t] of tensors) stripped.set(n.replace(/^transformer\./, ''), t);
    stripped.set('lm_head.weight', tensors.get('transformer.wte.weight')!);
    await writeSafetensors(path.join(dir, 'model.safetensors'), stripped);
    const ck = await loadCheckpoint(dir);
    expect(ck.weights.has('transformer.h.1.mlp.c_proj.weight')).toBe(true);
    expect(ck.weights.get('transformer.wte.weight')).toEqual(tensors.get('transformer.wte.weight'));
    expect(ck.unused).toEqual(['lm_head.weight']);
  });

  it('a fixture whose config.json disagrees with the weights → WISE_SHAPE_MISMATCH', async () => {
    const dir = path.join(tmp, 'qwen-mismatch');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir);
    await copyFile(path.join(hfFixtureDir('tiny-qwen2'), 'model.safetensors'), path.join(dir, 'model.safetensors'));
    const cfg = readSharedJson<Record<string, unknown>>('fixtures/hf/tiny-qwen2/config.json');
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 160 }));
    await expectCode(loadCheckpoint(dir), 'WISE_SHAPE_MISMATCH', ['model.layers.0.mlp.gate_proj.weight', '[160, 64]', '[176, 64]']);
  });
}, ['fixtures/hf']);
