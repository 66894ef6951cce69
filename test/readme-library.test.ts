/**
 * The README's "Library" block, run as written: the ts fence under "## Library" with its
 * `from 'wise-edit'` pointed at src/index.ts and its store path at a temp folder, in a child
 * process (tsx). It must edit the bundled model: the printed continuation names the target.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/shared.js';

it('the README library example edits the bundled model as it says', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Library\n'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block, 'a ts block under ## Library').toBeDefined();
  expect(block).toContain("from 'wise-edit'");
  const dir = mkdtempSync(path.join(tmpdir(), 'wise-readme-'));
  try {
    const src = block!
      .replace("from 'wise-edit'", `from '${pathToFileURL(path.join(REPO_ROOT, 'src', 'index.ts')).href}'`)
      .replace("'/tmp/my-store'", JSON.stringify(path.join(dir, 'store')));
    const file = path.join(dir, 'example.mts');
    writeFileSync(file, src);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WISE_')));
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: REPO_ROOT, env, encoding: 'utf8', timeout: 170_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^Rome\b/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
