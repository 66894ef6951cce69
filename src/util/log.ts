/**
 * Leveled logger to stderr. Results go to stdout elsewhere; logs and progress never do.
 * Quiet when disabled (under --json, or when stderr is not a TTY unless forced).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Progress lines (overwritten in place on a TTY). */
  progress(msg: string): void;
  readonly enabled: boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  enabled?: boolean;
  stream?: NodeJS.WriteStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const enabled = opts.enabled ?? Boolean(stream.isTTY);
  const min = ORDER[opts.level ?? 'info'];
  const tty = Boolean(stream.isTTY);
  const emit = (lvl: LogLevel, msg: string): void => {
    if (!enabled && lvl !== 'error') return;
    if (ORDER[lvl] < min) return;
    stream.write((lvl === 'info' ? '' : `[${lvl}] `) + msg + '\n');
  };
  return {
    enabled,
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    progress: (m) => {
      if (!enabled) return;
      if (tty) stream.write(`\r\x1b[K${m}`);
      else stream.write(m + '\n');
    },
  };
}

/** A logger that prints nothing (library default). */
export const silentLogger: Logger = createLogger({ enabled: false });
