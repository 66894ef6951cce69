/**
 * `wise export` from the command line (the sources run through tsx, so no build is needed):
 * one edit on the tiny llama fixture in a temporary store, then an ONNX export, a merged
 * safetensors export (one memory: no --memory needed) and the usage errors.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT, describeShared, hfFixtureDir } from '../helpers/shared.js';

const TMP = mkdtempSync(path.join(tmpdir(), 'wise-export-cli-'));
const ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WISE_')));
Object.assign(ENV, { WISE_DATA_DIR: path.join(TMP, 'data'), WISE_WISE__N_ITER: '3', WISE_WISE__CONTEXT_TEMPLATES: '2', WISE_ENGINE__THREADS: '1' });

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function wise(args: string[]): Promise<Run> {
  const argv = ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), '--model', hfFixtureDir('tiny-llama'), '--db', path.join(TMP, 'db'), ...args];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, argv, { env: ENV, cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describeShared('wise export (CLI)', () => {
  beforeAll(async () => {
    const r = await wise(['--json', 'edit', '--prompt', 'The capital of France is', '--target', 'Rome']);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => rmSync(TMP, { recursive: true, force: true }));

  it('exports ONNX and a merged checkpoint; usage errors exit 2', async () => {
    const onnxDir = path.join(TMP, 'out-onnx');
    const stDir = path.join(TMP, 'out-st');
    // the store is locked by one process at a time: exports run one after the other
    const onnx = await wise(['--json', 'export', '--format', 'onnx', '--out', onnxDir]);
    const st = await wise(['--json', 'export', '--format', 'safetensors', '--out', stDir]);
    const [bad, noFormat] = await Promise.all([
      wise(['export', '--format', 'tflite', '--out', path.join(TMP, 'x')]),
      wise(['export', '--out', path.join(TMP, 'y')]),
    ]);
    expect(onnx.code, onnx.stderr).toBe(0);
    const j = JSON.parse(onnx.stdout) as { memories: { route: number; id: string }[]; files: string[] };
    expect(j.memories.map((m) => [m.route, m.id])).toEqual([[1, 'active']]);
    for (const f of ['model.onnx', 'wise_export.json', 'tokenizer.json', 'config.json']) expect(existsSync(path.join(onnxDir, f)), f).toBe(true);
    expect(st.code, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ memory: 'active', edits: [0], weight: expect.stringMatching(/^model\.layers\.\d+\.mlp\.down_proj\.weight$/) });
    expect(JSON.parse(readFileSync(path.join(stDir, 'wise_export.json'), 'utf8'))).toMatchObject({ memory: 'active', lost: expect.stringContaining('locality') });
    expect(bad.code).toBe(2);
    expect(noFormat.code).toBe(2);
    // a second export into the same folder is refused (exit 2) unless --force
    const again = await wise(['export', '--format', 'onnx', '--out', onnxDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    const forced = await wise(['export', '--format', 'onnx', '--out', onnxDir, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    const mem = await wise(['export', '--format', 'onnx', '--out', path.join(TMP, 'z'), '--memory', 'active']);
    expect(mem.code).toBe(2);
  });
}, ['fixtures/hf/tiny-llama']);
