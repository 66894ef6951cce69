/**
 * Per-user data directory (XDG on Linux, ~/Library on macOS, %APPDATA% on Windows),
 * overridable with WISE_DATA_DIR. Stores default to <data>/stores/<name>.
 */
import { homedir, platform } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WISE_DATA_DIR) return resolve(env.WISE_DATA_DIR);
  const home = homedir();
  if (platform() === 'darwin') return join(home, 'Library', 'Application Support', 'wise-edit');
  if (platform() === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'wise-edit');
  return join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'wise-edit');
}

export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env, name = 'default'): string {
  return join(dataDir(env), 'stores', name);
}

/** The package root (works from src/ under tsx and from dist/ after build). */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..');
}

/** The bundled default model folder. */
export function bundledModelDir(): string {
  return join(packageRoot(), 'models', 'wise-base');
}
