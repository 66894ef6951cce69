/** The command table: one registrar per command file. Adding a command = one file + one line. */
import type { Command } from 'commander';
import { registerConfig } from './config.js';
import { registerDemo } from './demo.js';

export type Registrar = (program: Command) => void;

export const COMMANDS: Registrar[] = [
  registerDemo,
  registerConfig,
];
