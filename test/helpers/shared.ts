/**
 * Locating the read-only shared folder (fixtures, docs) beside the repository: `<repoRoot>/../shared`.
 * Tests that need it use `describeShared`, which skips (with a printed reason) when the folder or a
 * required path inside it is absent, so the suite still passes in a bare checkout.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DIR = path.resolve(REPO_ROOT, '../shared');
export const hasShared: boolean = existsSync(SHARED_DIR);

/** Absolute path of `parts` inside SHARED_DIR. */
export function sharedPath(...parts: string[]): string {
  return path.join(SHARED_DIR, ...parts);
}

/** True when every relative path exists inside SHARED_DIR. */
export function hasSharedPaths(...rel: string[]): boolean {
  return hasShared && rel.every((r) => existsSync(sharedPath(r)));
}

/** Parses a JSON file inside SHARED_DIR. */
export function readSharedJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(sharedPath(...parts), 'utf8')) as T;
}

/**
 * `describe` that skips when SHARED_DIR (or any of `requires`, relative to it) is missing, printing why.
 */
export function describeShared(name: string, fn: () => void, requires: readonly string[] = []): void {
  const missing = !hasShared ? [SHARED_DIR] : requires.filter((r) => !existsSync(sharedPath(r))).map((r) => sharedPath(r));
  if (missing.length > 0) {
    console.warn(`[skip] "${name}": ${missing.join(', ')} not found (the shared folder beside the repo is absent or incomplete)`);
  }
  describe.skipIf(missing.length > 0)(name, fn);
}

/** The Hugging Face reference fixtures (see ../shared/fixtures/hf/README.md). */
export const HF_FIXTURES = ['tiny-gpt2', 'tiny-llama', 'tiny-qwen2'] as const;
export type HfFixture = (typeof HF_FIXTURES)[number];
export function hfFixtureDir(name: HfFixture): string {
  return sharedPath('fixtures', 'hf', name);
}
