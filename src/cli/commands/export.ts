/**
 * `wise export --format onnx|safetensors --out DIR [--memory ID] [--logits last|all] [--force]`:
 * the edited model for other runtimes (docs/export.md).
 *  - onnx: model.onnx with the router and every memory inside, wise_export.json (the I/O
 *    contract), config.json and the tokenizer files;
 *  - safetensors: a merged checkpoint (W′ = W + Δ of one memory, no routing), which needs
 *    --memory when the router holds several memories.
 */
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { WiseError } from '../../util/errors.js';
import { exportOnnx, exportSafetensors, exportSourceOf } from '../../export/index.js';
import { openEditor, openModel, storeDir } from '../open.js';
import { familyContext, nonEmptyArg, storeExists } from './common.js';

const choice = (name: string, values: readonly string[]) => (v: string): string => {
  if (!values.includes(v)) throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}`);
  return v;
};

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export the edited model: ONNX with the router inside, or a merged safetensors checkpoint')
    .requiredOption('--format <format>', 'onnx | safetensors', choice('--format', ['onnx', 'safetensors']))
    .requiredOption('--out <dir>', 'output folder (new or empty)', nonEmptyArg('--out'))
    .option('--memory <id>', 'safetensors: the memory merged into the weights (needed when the router holds several)', nonEmptyArg('--memory'))
    .option('--logits <which>', 'onnx: last (logits_last, default) | all (logits of every new token)', choice('--logits', ['last', 'all']), 'last')
    .option('--force', 'write into a non-empty output folder')
    .action(async function (this: Command) {
      const { ctx } = familyContext(this);
      const o = this.opts() as { format: 'onnx' | 'safetensors'; out: string; memory?: string; logits: 'last' | 'all'; force?: boolean };
      if (o.format === 'onnx' && o.memory !== undefined) throw new WiseError('WISE_USAGE', '--memory applies to --format safetensors only (the ONNX export holds every memory)', { field: 'memory' });
      const dir = storeDir(ctx.config);
      if (!storeExists(dir)) throw new WiseError('WISE_NOT_FOUND', `no wise store at ${dir}`, { location: dir });
      const out = path.resolve(o.out);
      const lm = await openModel(ctx);
      const ed = await openEditor(ctx, lm, 'wise export', dir);
      try {
        const src = exportSourceOf(ed);
        if (o.format === 'onnx') {
          ctx.log.info(`exporting ONNX with ${src.memories.length} memories to ${out}`);
          const r = await exportOnnx(src, out, { logits: o.logits, overwrite: Boolean(o.force) });
          const mems = r.contract.routing.memories;
          ctx.out(
            { format: 'onnx', dir: r.dir, files: r.files, bytes: r.bytes, layer: src.layer, memories: mems },
            [`wrote ${path.join(r.dir, 'model.onnx')} (${(r.bytes / 1e6).toFixed(1)} MB) and ${r.files.length - 1} more files`,
              `routes: 0 = main${mems.map((m) => `, ${m.route} = ${m.id} (ε ${m.eps.toFixed(4)})`).join('')}`,
              `I/O contract: ${path.join(r.dir, 'wise_export.json')}`].join('\n'),
          );
        } else {
          const r = await exportSafetensors(src, out, { ...(o.memory !== undefined ? { memory: o.memory } : {}), overwrite: Boolean(o.force) });
          ctx.out(
            { format: 'safetensors', dir: r.dir, files: r.files, memory: r.memory, weight: r.weight, edits: r.edits },
            [`wrote a merged checkpoint to ${r.dir}: ${r.weight} = W + Δ(${r.memory}) (edits ${r.edits.join(', ') || 'none'})`,
              'note: no routing — every input uses the edited weight, so locality is not preserved (docs/export.md)'].join('\n'),
          );
        }
      } finally {
        await ed.close();
      }
    });
}
