/**
 * A Hugging Face fixture with its config.json (or other JSON files) changed, e.g. a RoPE scaling block: a
 * temporary folder whose other files link to the read-only fixture's. The caller removes the folder.
 */
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { hfFixtureDir, type HfFixture } from './shared.js';

/**
 * Returns the folder: `fixture` with `patch` merged over its config.json's top-level keys, and each of `files`
 * (name → JSON body) written in place of the fixture's file of that name.
 */
export function fixtureWithConfig(fixture: HfFixture, patch: Record<string, unknown>, files: Record<string, unknown> = {}): string {
  return folderWithConfig(hfFixtureDir(fixture), patch, files);
}

/** The same for any checkpoint folder `src` (the bundled model, say). */
export function folderWithConfig(src: string, patch: Record<string, unknown>, files: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), `wise-${path.basename(src)}-variant-`));
  for (const f of readdirSync(src)) {
    if (f === 'config.json' || f in files) continue;
    symlinkSync(path.join(src, f), path.join(dir, f));
  }
  for (const [f, body] of Object.entries(files)) writeFileSync(path.join(dir, f), JSON.stringify(body, null, 2));
  const config = JSON.parse(readFileSync(path.join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, ...patch }, null, 2));
  return dir;
}
