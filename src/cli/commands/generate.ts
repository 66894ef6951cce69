/**
 * `wise generate --prompt P`: decode a continuation. When the store exists, generation is
 * routed through its edits (the editor's router: edited facts answer from their memory);
 * `--no-edits` uses the plain model and does not touch the store.
 */
import type { Command } from 'commander';
import { openEditor, openModel, storeDir } from '../open.js';
import { generateText, type Routing } from '../../serve/wise-service.js';
import type { WiseEditor } from '../../edits/editor.js';
import { familyContext, floatArg, intArg, nonEmptyArg, positiveArg, storeExists } from './common.js';
import { shapes, type LogitShaping } from '../../model/logit-shaping.js';
import { choiceNode, compileSchema } from '../../model/constrain/json-schema.js';
import { jsonRecognizer } from '../../model/constrain/json-recognizer.js';
import { regexRecognizer } from '../../model/constrain/regex-dfa.js';
import { larkOrGbnfRecognizer } from '../../model/constrain/lark.js';
import type { Recognizer } from '../../model/constrain/recognizer.js';
import type { StructuredOutput } from '../../serve/structured.js';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { WiseError } from '../../util/errors.js';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate a continuation of a prompt (with the store\'s edits when a store exists)')
    .requiredOption('-p, --prompt <text>', 'the prompt', nonEmptyArg('--prompt'))
    .option('-n, --max-tokens <n>', 'tokens to generate', intArg('--max-tokens', 1, 4096), 16)
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', floatArg('--temperature', 0, 2), 0)
    .option('--top-p <p>', 'nucleus sampling mass', floatArg('--top-p', 0, 1), 1)
    .option('--top-k <k>', 'sample from the k most likely tokens; 0 = all', intArg('--top-k', 0), 0)
    .option('--min-p <p>', "drop tokens less likely than p × the most likely one's probability; 0 = off", floatArg('--min-p', 0, 1), 0)
    .option('--repetition-penalty <r>', 'divide the positive logits (multiply the negative ones) of tokens already in the prompt or output by r; 1 = off', positiveArg('--repetition-penalty'), 1)
    .option('--frequency-penalty <f>', 'subtract f × the count of each token generated so far from its logit', floatArg('--frequency-penalty', -2, 2), 0)
    .option('--presence-penalty <p>', 'subtract p from the logit of each token generated so far', floatArg('--presence-penalty', -2, 2), 0)
    .option('--logit-bias <id=bias>', 'add bias (-100..100) to token id\'s logit (repeatable); -100 all but bans it', logitBiasArg, new Map<number, number>())
    .option('--ignore-eos', "do not stop at the model's end-of-sequence token")
    .option('--min-tokens <n>', 'no end-of-sequence before n tokens', intArg('--min-tokens', 0), 0)
    .option('--seed <n>', 'sampling seed', intArg('--seed', 0, 2 ** 32 - 1), 0)
    .option('--stop <text>', 'stop string (repeatable): the text ends before it', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json-object', 'structured output: the text is a JSON object (OpenAI response_format json_object)')
    .option('--json-schema <file>', 'structured output: the text is JSON that the schema in FILE accepts (docs/serve.md lists the supported subset)')
    .option('--choice <text>', 'structured output: the text is exactly one of these (repeatable; vLLM guided_choice)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--regex <re>', 'structured output: the whole text matches this regular expression (vLLM guided_regex; docs/serve.md lists the subset)')
    .option('--grammar <file>', "structured output: the text is what FILE's grammar derives: GBNF from its root rule (llama.cpp's --grammar-file), or Lark from start when no line has ::=")
    .option('--stream', 'print text as it is generated')
    .option('--no-edits', 'use the plain model, ignoring the store')
    .option('--chat', "send the prompt as one user message through the checkpoint's chat template (as the server's chat route does)")
    .action(async function (this: Command) {
      const { ctx } = familyContext(this);
      const o = this.opts() as { prompt: string; maxTokens: number; temperature: number; topP: number; topK: number; minP: number; repetitionPenalty: number; frequencyPenalty: number; presencePenalty: number; logitBias: Map<number, number>; ignoreEos?: boolean; minTokens: number; seed: number; stop?: string[]; stream?: boolean; edits: boolean; chat?: boolean; jsonObject?: boolean; jsonSchema?: string; choice?: string[]; regex?: string; grammar?: string };
      const structured = structuredOption(o);
      const lm = await openModel(ctx);
      for (const id of o.logitBias.keys()) {
        if (id >= lm.config.vocabSize) throw new WiseError('WISE_BAD_REQUEST', `--logit-bias: token id ${id} is outside the vocabulary [0, ${lm.config.vocabSize})`, { field: 'logit-bias' });
      }
      const shaping: LogitShaping = { logitBias: o.logitBias, repetitionPenalty: o.repetitionPenalty, frequencyPenalty: o.frequencyPenalty, presencePenalty: o.presencePenalty };
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
          {
            maxTokens: o.maxTokens, temperature: o.temperature, topP: o.topP, topK: o.topK, minP: o.minP, ...(shapes(shaping) ? { shaping } : {}),
            ignoreEos: o.ignoreEos === true, minTokens: Math.min(o.minTokens, o.maxTokens),
            seed: o.seed, stop: o.stop, ...(structured ? { structured } : {}), onText: stream ? (t) => void process.stdout.write(t) : undefined,
          },
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

/** --json-object, --json-schema FILE, --choice …, --regex RE or --grammar FILE: at most one; the schema or grammar read and compiled (WISE_BAD_SCHEMA names what is wrong). */
function structuredOption(o: { jsonObject?: boolean; jsonSchema?: string; choice?: string[]; regex?: string; grammar?: string }): StructuredOutput | undefined {
  const given = [o.jsonObject ? '--json-object' : null, o.jsonSchema !== undefined ? '--json-schema' : null, o.choice ? '--choice' : null, o.regex !== undefined ? '--regex' : null, o.grammar !== undefined ? '--grammar' : null].filter((x): x is string => x !== null);
  if (given.length > 1) throw new WiseError('WISE_USAGE', `${given.join(' and ')}: give one structured output`, { field: given[1] });
  if (o.jsonObject) return { recognizer: jsonRecognizer(compileSchema({ type: 'object' })) as Recognizer<unknown>, field: '--json-object' };
  if (o.choice) return { recognizer: jsonRecognizer(choiceNode(o.choice), true) as Recognizer<unknown>, field: '--choice' };
  if (o.regex !== undefined) return { recognizer: regexRecognizer(o.regex) as Recognizer<unknown>, field: '--regex' };
  if (o.grammar !== undefined) return { recognizer: larkOrGbnfRecognizer(readOptionFile(o.grammar, '--grammar')) as Recognizer<unknown>, field: '--grammar' };
  if (o.jsonSchema === undefined) return undefined;
  const text = readOptionFile(o.jsonSchema, '--json-schema');
  let schema: unknown;
  try {
    schema = JSON.parse(text) as unknown;
  } catch (e) {
    throw new WiseError('WISE_BAD_SCHEMA', `--json-schema ${o.jsonSchema}: not JSON (${(e as Error).message})`, { file: o.jsonSchema });
  }
  return { recognizer: jsonRecognizer(compileSchema(schema)) as Recognizer<unknown>, field: '--json-schema' };
}

/** The text of an option's file; WISE_FILE_NOT_FOUND naming the flag and the file. */
function readOptionFile(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new WiseError('WISE_FILE_NOT_FOUND', `${flag} ${file}: no such file`, { file });
    throw e;
  }
}

/** `--logit-bias ID=BIAS`, repeatable: the biases so far with this one added. */
function logitBiasArg(v: string, prev: Map<number, number>): Map<number, number> {
  const m = /^\s*(0|[1-9]\d{0,9})\s*=\s*(\S+)\s*$/.exec(v);
  const bias = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(bias) || bias < -100 || bias > 100) throw new InvalidArgumentError(`--logit-bias "${v}": expected ID=BIAS, a token id and a number in [-100, 100]`);
  return new Map([...prev, [Number(m[1]), bias]]);
}
