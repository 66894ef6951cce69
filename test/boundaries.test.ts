/**
 * Module boundaries (style guide §3) and style rules checked by a tool:
 * - each src/<folder> imports only the folders listed below;
 * - onnxruntime-node only in src/engine, @huggingface/transformers only in src/model/tokenizer.ts,
 *   level only in src/shards, fastify only in src/serve, commander only in src/cli;
 * - no Math.random in src/; files stay under 500 lines.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const SRC = resolve(__dirname, '..', 'src');

const ALLOWED: Record<string, string[]> = {
  util: [],
  config: ['util'],
  graph: ['util'],
  engine: ['graph', 'util'],
  model: ['graph', 'engine', 'util', 'config'],
  data: ['util'],
  merge: ['util'],
  shards: ['util'],
  memory: ['graph', 'engine', 'model', 'util', 'config', 'router'],
  router: ['graph', 'engine', 'model', 'memory', 'util', 'config'],
  train: ['graph', 'engine', 'model', 'util', 'config', 'data'],
  edits: ['memory', 'router', 'merge', 'shards', 'model', 'config', 'util', 'graph', 'engine'],
  baselines: ['graph', 'engine', 'model', 'eval', 'util', 'config'],
  eval: ['edits', 'baselines', 'model', 'router', 'memory', 'config', 'util', 'engine', 'graph', 'data'],
  export: ['*'],
  serve: ['*'],
  cli: ['*'],
};

const PACKAGE_HOMES: Record<string, (file: string) => boolean> = {
  'onnxruntime-node': (f) => f.startsWith('engine/'),
  '@huggingface/transformers': (f) => f === 'model/tokenizer.ts' || f.startsWith('data/'),
  level: (f) => f.startsWith('shards/'),
  fastify: (f) => f.startsWith('serve/'),
  commander: (f) => f.startsWith('cli/'),
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const files = walk(SRC).map((p) => ({ path: p, rel: relative(SRC, p).split('\\').join('/'), text: readFileSync(p, 'utf8') }));
const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

describe('module boundaries', () => {
  it('has every src folder in the table', () => {
    const folders = new Set(files.map((f) => f.rel.split('/')[0]).filter((f) => f && !f.endsWith('.ts')));
    for (const f of folders) expect(Object.keys(ALLOWED), `folder src/${f} is not in the boundary table`).toContain(f);
  });

  it('imports respect the layer table', () => {
    const violations: string[] = [];
    for (const f of files) {
      const top = f.rel.includes('/') ? (f.rel.split('/')[0] as string) : null;
      for (const m of f.text.matchAll(IMPORT_RE)) {
        const spec = (m[1] ?? m[2]) as string;
        if (spec.startsWith('.')) {
          if (!top) continue; // src/index.ts re-exports anything
          const target = relative(SRC, resolve(dirname(f.path), spec)).split('\\').join('/');
          const tTop = target.split('/')[0] as string;
          const allowed = ALLOWED[top] ?? [];
          if (tTop !== top && !allowed.includes('*') && !allowed.includes(tTop)) violations.push(`${f.rel} imports ${target}`);
          if ((tTop === 'cli' || tTop === 'serve') && top !== tTop && top !== 'cli') violations.push(`${f.rel} imports ${tTop}/`);
        } else {
          for (const [pkg, ok] of Object.entries(PACKAGE_HOMES)) {
            if ((spec === pkg || spec.startsWith(pkg + '/')) && !ok(f.rel)) violations.push(`${f.rel} imports ${pkg}`);
          }
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('never uses Math.random in src/', () => {
    expect(files.filter((f) => /Math\.random\s*\(/.test(f.text)).map((f) => f.rel)).toEqual([]);
  });

  it('keeps files under 500 lines', () => {
    expect(files.filter((f) => f.text.split('\n').length > 500).map((f) => f.rel)).toEqual([]);
  });
});
