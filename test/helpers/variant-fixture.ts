/**
 * A Hugging Face fixture with its config.json changed (e.g. a RoPE scaling block): a temporary folder whose
 * other files link to the read-only fixture's. The caller removes the folder.
 */
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { hfFixtureDir, type HfFixture } from './shared.js';

/** Returns the folder: `fixture` with `patch` merged over its config.json's top-level keys. */
export function fixtureWithConfig(fixture: HfFixture, patch: Record<string, unknown>): string {
  const src = hfFixtureDir(fixture);
  const dir = mkdtempSync(path.join(tmpdir(), `wise-${fixture}-variant-`));
  for (const f of readdirSync(src)) {
    if (f === 'config.json') continue;
    symlinkSync(path.join(src, f), path.join(dir, f));
  }
  const config = JSON.parse(readFileSync(path.join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, ...patch }, null, 2));
  return dir;
}
