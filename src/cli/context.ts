/**
 * What every command receives: the resolved config, a logger on stderr (off under --json
 * or without a TTY), and an output function that writes results to stdout.
 */
import { resolveConfig, type PartialConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger } from '../util/log.js';

export interface GlobalOptions {
  model?: string;
  db?: string;
  config?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export interface CommandContext {
  config: Config;
  log: Logger;
  json: boolean;
  /** Writes a result: JSON (one document) under --json, else the text form. */
  out(result: unknown, text?: string): void;
}

export function makeContext(g: GlobalOptions, extraFlags: PartialConfig = {}): CommandContext {
  const flags: PartialConfig = { ...extraFlags };
  if (g.model) flags.model = g.model;
  if (g.db) flags.store = { ...(flags.store as object | undefined), db: g.db };
  const config = resolveConfig({ file: g.config, env: process.env, flags });
  const json = Boolean(g.json);
  const log = createLogger({
    enabled: !json && !g.quiet && (Boolean(process.stderr.isTTY) || Boolean(g.verbose)),
    level: g.verbose ? 'debug' : config.log.level,
  });
  return {
    config,
    log,
    json,
    out(result, text) {
      if (json) process.stdout.write(JSON.stringify(result) + '\n');
      else process.stdout.write((text ?? (typeof result === 'string' ? result : JSON.stringify(result, null, 2))) + '\n');
    },
  };
}
