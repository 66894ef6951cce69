/** The command table: one registrar per command file. Adding a command = one file + one line. */
import type { Command } from 'commander';
import { registerConfig } from './config.js';
import { registerDemo } from './demo.js';
import { registerGenerate } from './generate.js';
import { registerEdit } from './edit.js';
import { registerEdits } from './edits.js';
import { registerDb } from './db.js';
import { registerMerge } from './merge.js';
import { registerMergeModels } from './merge-models.js';
import { registerServe } from './serve.js';
import { registerExport } from './export.js';
import { registerEval } from './eval.js';
import { registerModel } from './model.js';

export type Registrar = (program: Command) => void;

export const COMMANDS: Registrar[] = [
  registerDemo,
  registerConfig,
  registerModel,
  registerGenerate,
  registerEdit,
  registerEdits,
  registerDb,
  registerMerge,
  registerMergeModels,
  registerServe,
  registerExport,
  registerEval,
];
