#!/usr/bin/env node
/**
 * The `wise` command line: a table of commands (src/cli/commands/*) over one commander
 * program. Exit codes: 0 ok, 1 failure, 2 usage, 3 store locked. Results go to stdout
 * (one JSON document under --json); progress and logs go to stderr.
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { WiseError } from '../util/errors.js';

export function buildProgram(): Command {
  const program = new Command();
  // exitOverride/configureOutput must be set on the root before any .command().
  program
    .name('wise')
    .description('Lifelong knowledge editing (WISE) for language models')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false)
    .option('--model <dir>', 'checkpoint folder (config.json, safetensors, tokenizer); default: the bundled model')
    .option('--db <dir>', 'store directory; default: the per-user data directory')
    .option('--config <file>', 'YAML config file')
    .option('--json', 'print one JSON document to stdout; no progress on stderr')
    .option('--quiet', 'no progress or logs on stderr')
    .option('--verbose', 'debug logs on stderr (even without a TTY)');
  for (const register of COMMANDS) register(program);
  return program;
}

/**
 * For a store held by `wise serve` (owner 'wise serve on URL'): where to send the request instead.
 * The store's own message already names the owner (pid, command, since).
 */
export function lockHint(err: WiseError): string | null {
  if (err.code !== 'WISE_STORE_LOCKED') return null;
  const owner = err.details.owner as { pid?: number; command?: string } | null | undefined;
  const url = /^wise serve on (\S+)/.exec(owner?.command ?? '')?.[1];
  if (!url) {
    return owner?.pid ? `hint: wait for pid ${owner.pid} to finish, or stop it\n` : null;
  }
  return [
    `hint: the server at ${url} holds the store; send the request through it (edit routes need its bearer token):`,
    `  apply an edit:  POST ${url}/wise/edits?wait=true  {"prompt": "...", "target": "..."}`,
    `  list / show:    GET ${url}/wise/edits, GET ${url}/wise/edits/ID`,
    `  revert:         DELETE ${url}/wise/edits/ID`,
    `  merge:          POST ${url}/wise/merge`,
    `  back up:        POST ${url}/wise/backup  {"dir": "/absolute/new/dir"}`,
    `  generate:       POST ${url}/v1/completions (OpenAI API)`,
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // 'commander.help' with exit code 1 is the help shown for a command group without its subcommand: a usage error.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return EXIT.usage;
    }
    const json = argv.includes('--json');
    if (err instanceof WiseError) {
      if (json) process.stdout.write(JSON.stringify({ error: err.toJSON() }) + '\n');
      process.stderr.write(`error [${err.code}]: ${err.message}\n`);
      const hint = lockHint(err);
      if (hint) process.stderr.write(hint);
    } else {
      process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    return exitCodeFor(err);
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
