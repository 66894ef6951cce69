/**
 * `wise model`: what wise-edit makes of the checkpoint (--model DIR, default the bundled model) without loading its
 * weights: architecture, positions and attention as config.json sets them, parameters and dtypes from the
 * safetensors headers (every needed tensor present with its shape), the tokenizer's prefix, chat template and stop
 * ids, and the weight WISE edits under the resolved config. A folder that would not load fails with the same error.
 */
import type { Command } from 'commander';
import { defaultEditLayer } from '../../edits/editor.js';
import { editWeightName, getArchSpec } from '../../model/arch.js';
import { inspectCheckpoint, type CheckpointInfo } from '../../model/inspect.js';
import type { RopeScaling } from '../../graph/index.js';
import { modelDir } from '../open.js';
import { familyContext } from './common.js';

export function registerModel(program: Command): void {
  program
    .command('model')
    .description('check a checkpoint folder and show how wise-edit reads it (no weights loaded)')
    .action(async function (this: Command) {
      const { ctx } = familyContext(this);
      const info = await inspectCheckpoint(modelDir(ctx.config));
      const layer = ctx.config.wise.layer ?? defaultEditLayer(info.config.numLayers);
      const edited = { layer, weight: editWeightName(getArchSpec(info.config.modelType), layer) };
      ctx.out({ ...info, edited }, describe(info, edited));
    });
}

function scalingText(s: RopeScaling): string {
  const { type, ...params } = s;
  const shown = Object.entries(params).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${String(v)}`);
  return `${type} scaling (${shown.join(', ')})`;
}

function describe(i: CheckpointInfo, edited: { layer: number; weight: string }): string {
  const c = i.config;
  const size = (b: number): string => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);
  const params = i.params >= 1e9 ? `${(i.params / 1e9).toFixed(2)} B` : `${(i.params / 1e6).toFixed(2)} M`;
  const positions = c.ropeTheta === null ? `learned, ${c.maxPositionEmbeddings}` : `RoPE theta ${c.ropeTheta}${c.ropeScaling ? `, ${scalingText(c.ropeScaling)}` : ''}; context ${c.maxPositionEmbeddings}`;
  const ids = (xs: readonly number[]): string => (xs.length ? xs.join(', ') : 'none');
  return [
    `model      ${i.dir}`,
    `type       ${c.modelType} (${c.arch} graph): ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads (${c.numKvHeads} kv) of ${c.headDim}, MLP ${c.intermediateSize}, vocabulary ${c.vocabSize}`,
    `positions  ${positions}`,
    `attention  ${c.slidingWindow === null ? 'full' : `sliding window of ${c.slidingWindow} on every layer`}`,
    `weights    ${params} parameters, ${i.dtypes.join('/')} in ${i.files.length} file${i.files.length === 1 ? '' : 's'}; ${size(i.float32Bytes)} as float32 in memory${i.unused.length ? `; ${i.unused.length} tensor${i.unused.length === 1 ? '' : 's'} unused` : ''}`,
    `tokenizer  ${i.tokenizer.vocabSize} tokens; prompts start with: ${ids(i.tokenizer.prefixIds)}; chat template: ${i.tokenizer.chatTemplate ? 'yes' : 'no'}; stops on: ${ids(i.tokenizer.stopIds)}`,
    `editing    layer ${edited.layer}: ${edited.weight}`,
  ].join('\n');
}
