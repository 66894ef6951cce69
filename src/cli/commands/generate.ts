/**
 * `wise generate --prompt P`: decode a continuation. When the store exists, generation is
 * routed through its edits (the editor's router: edited facts answer from their memory);
 * `--no-edits` uses the plain model and does not touch the store.
 */
import type { Command } from 'commander';
import { openEditor, openModel, storeDir } from '../open.js';
import { generateText, type Routing } from '../../serve/wise-service.js';
import type { WiseEditor } from '../../edits/editor.js';
import { familyContext, floatArg, intArg, nonEmptyArg, storeExists } from './common.js';
import { WiseError } from '../../util/errors.js';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate a continuation of a prompt (with the store\'s edits when a store exists)')
    .requiredOption('-p, --prompt <text>', 'the prompt', nonEmptyArg('--prompt'))
    .option('-n, --max-tokens <n>', 'tokens to generate', intArg('--max-tokens', 1, 4096), 16)
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', floatArg('--temperature', 0, 2), 0)
    .option('--top-p <p>', 'nucleus sampling mass', floatArg('--top-p', 0, 1), 1)
    .option('--seed <n>', 'sampling seed', intArg('--seed', 0, 2 ** 32 - 1), 0)
    .option('--stop <text>', 'stop string (repeatable): the text ends before it', (v: string, prev: string[] = []) => [...prev, v])
    .option('--stream', 'print text as it is generated')
    .option('--no-edits', 'use the plain model, ignoring the store')
    .option('--chat', "send the prompt as one user message through the checkpoint's chat template (as the server's chat route does)")
    .action(async function (this: Command) {
      const { ctx } = familyContext(this);
      const o = this.opts() as { prompt: string; maxTokens: number; temperature: number; topP: number; seed: number; stop?: string[]; stream?: boolean; edits: boolean; chat?: boolean };
      const lm = await openModel(ctx);
      const rendered = o.chat ? lm.tokenizer.applyChatTemplate([{ role: 'user', content: o.prompt }], { addGenerationPrompt: true }) : null;
      if (o.chat && rendered === null) throw new WiseError('WISE_BAD_REQUEST', `--chat: ${lm.tokenizer.dir} has no chat template (tokenizer_config.json chat_template)`, { field: 'chat' });
      // a rendered template is tokenized as it stands: it writes its own BOS
      const prompt = rendered === null ? o.prompt : lm.tokenizer.encode(rendered);
      let editor: WiseEditor | undefined;
      const dir = storeDir(ctx.config);
      if (o.edits && storeExists(dir)) editor = await openEditor(ctx, lm, 'wise generate');
      try {
        const routing: Routing | undefined = editor?.variant();
        const stream = Boolean(o.stream) && !ctx.json;
        const r = await generateText(
          lm,
          prompt,
          { maxTokens: o.maxTokens, temperature: o.temperature, topP: o.topP, seed: o.seed, stop: o.stop, onText: stream ? (t) => void process.stdout.write(t) : undefined },
          routing,
        );
        const result = {
          prompt: o.prompt, text: r.text, ids: r.ids, finish_reason: r.finishReason, memory: r.memory,
          edits: editor ? editor.state.applied : 0, prompt_tokens: r.promptTokens, completion_tokens: r.ids.length,
        };
        if (stream) process.stdout.write('\n');
        else ctx.out(result, r.text);
        ctx.log.info(`[${r.memory}] ${r.ids.length} tokens, finish ${r.finishReason}`);
      } finally {
        await editor?.close();
      }
    });
}
