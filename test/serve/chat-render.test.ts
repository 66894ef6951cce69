/**
 * vLLM's chat rendering fields (src/serve/chat-render.ts): add_generation_prompt, continue_final_message and
 * chat_template_kwargs, on the plain fallback prompt and through a checkpoint's template (tiny-qwen2 with a Qwen3-like
 * template that reads enable_thinking), on /tokenize and /v1/chat/completions; a request's own chat_template is refused.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatRender, continueFinal, DEFAULT_RENDER } from '../../src/serve/chat-render.js';
import { chatMessages, plainChatPrompt } from '../../src/serve/chat-messages.js';
import { ApiError } from '../../src/serve/errors.js';
import { describeShared, readSharedJson } from '../helpers/shared.js';
import { fixtureWithConfig } from '../helpers/variant-fixture.js';
import { openWiseApp, type WiseApp } from '../helpers/wise-app.js';

const apiError = (fn: () => unknown): [string, string | null, string] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return [e.code, e.param, e.message];
    throw e;
  }
  throw new Error('no error thrown');
};

const PREFILL = chatMessages([
  { role: 'user', content: 'Name a city.' },
  { role: 'assistant', content: 'The city is ' },
]);

describe('chat rendering fields (pure)', () => {
  it('defaults; continue_final_message turns the generation prompt off; bad combinations and reserved variables are 400s naming the field', () => {
    expect(chatRender({})).toEqual(DEFAULT_RENDER);
    expect(chatRender({ add_generation_prompt: false, chat_template_kwargs: { enable_thinking: false } })).toEqual({ addGenerationPrompt: false, continueFinal: false, kwargs: { enable_thinking: false } });
    expect(chatRender({ continue_final_message: true })).toEqual({ addGenerationPrompt: false, continueFinal: true, kwargs: {} });
    expect(apiError(() => chatRender({ continue_final_message: true, add_generation_prompt: true })).slice(0, 2)).toEqual(['invalid_value', 'continue_final_message']);
    for (const k of ['messages', 'tools', 'add_generation_prompt', 'padding']) {
      expect(apiError(() => chatRender({ chat_template_kwargs: { [k]: 1 } })).slice(0, 2)).toEqual(['invalid_value', `chat_template_kwargs.${k}`]);
    }
  });

  it('continue_final_message cuts after the final message\'s trimmed text; a final message the text lacks is a 400 naming messages', () => {
    expect(continueFinal('<u>Name a city.</u><a>The city is</a>\n', PREFILL)).toBe('<u>Name a city.</u><a>The city is');
    expect(apiError(() => continueFinal('<u>Name a city.</u><a></a>', PREFILL)).slice(0, 2)).toEqual(['invalid_value', 'messages']);
    expect(apiError(() => continueFinal('x', chatMessages([{ role: 'user', content: ' ' }])))[2]).toMatch(/final message with text/);
  });

  it('the plain fallback: "Assistant:" only with the generation prompt; continuing ends inside the final message', () => {
    const msgs = chatMessages([{ role: 'user', content: 'Hi' }]);
    expect(plainChatPrompt(msgs)).toBe('User: Hi\nAssistant:');
    expect(plainChatPrompt(msgs, [], { ...DEFAULT_RENDER, addGenerationPrompt: false })).toBe('User: Hi');
    expect(plainChatPrompt(PREFILL, [], chatRender({ continue_final_message: true }))).toBe('User: Name a city.\nAssistant: The city is');
  });
});

/** Qwen3's way with thinking, shortened: an empty think block opens the answer when enable_thinking is false. */
const QWEN3_LIKE = [
  '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}',
  '{% if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}',
].join('');

describeShared('chat rendering fields through a template (tiny-qwen2, Qwen3-like)', () => {
  let dir: string;
  let w: WiseApp;
  beforeAll(async () => {
    const cfg = readSharedJson<Record<string, unknown>>('fixtures/hf/tiny-qwen2/tokenizer_config.json');
    dir = fixtureWithConfig('tiny-qwen2', { max_position_embeddings: 512 }, { 'tokenizer_config.json': { ...cfg, chat_template: QWEN3_LIKE } });
    w = await openWiseApp(dir);
  }, 120_000);
  afterAll(async () => {
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const prompt = async (body: Record<string, unknown>): Promise<string> => w.service.decode(((await w.post('/tokenize', body)) as { tokens: number[] }).tokens);
  const user = [{ role: 'user', content: 'Name a city.' }];

  it('/tokenize renders what the chat route runs: generation prompt, template variables, a continued final message', async () => {
    expect(await prompt({ messages: user })).toBe('<|im_start|>user\nName a city.<|im_end|>\n<|im_start|>assistant\n');
    expect(await prompt({ messages: user, add_generation_prompt: false })).toBe('<|im_start|>user\nName a city.<|im_end|>\n');
    expect(await prompt({ messages: user, chat_template_kwargs: { enable_thinking: false } })).toBe('<|im_start|>user\nName a city.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
    const cont = await prompt({ messages: [...user, { role: 'assistant', content: 'The city is ' }], continue_final_message: true });
    expect(cont).toBe('<|im_start|>user\nName a city.<|im_end|>\n<|im_start|>assistant\nThe city is');
  });

  it('the chat route takes the same fields (usage counts the rendered prompt); bad ones and a request template are 400s naming the field', async () => {
    const usage = async (body: Record<string, unknown>): Promise<number> => ((await w.post('/v1/chat/completions', { max_tokens: 1, temperature: 0, ...body })) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
    const counts = await Promise.all([{ messages: user }, { messages: user, chat_template_kwargs: { enable_thinking: false } }, { messages: user, add_generation_prompt: false }].map((b) => usage(b)));
    const lens = await Promise.all([{ messages: user }, { messages: user, chat_template_kwargs: { enable_thinking: false } }, { messages: user, add_generation_prompt: false }].map(async (b) => ((await w.post('/tokenize', b)) as { count: number }).count));
    expect(counts).toEqual(lens);
    expect(counts[1]).toBeGreaterThan(counts[0]!);
    expect(counts[2]).toBeLessThan(counts[0]!);
    const refused = async (body: Record<string, unknown>): Promise<[number, string, string]> => {
      const r = await w.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: w.service.baseName, messages: user, ...body } });
      return [r.statusCode, r.json().error.code, r.json().error.param];
    };
    expect(await refused({ chat_template: '{{ messages }}' })).toEqual([400, 'unsupported_field', 'chat_template']);
    expect(await refused({ continue_final_message: true, add_generation_prompt: true })).toEqual([400, 'invalid_value', 'continue_final_message']);
    expect(await refused({ chat_template_kwargs: { tools: [] } })).toEqual([400, 'invalid_value', 'chat_template_kwargs.tools']);
    expect(await refused({ chat_template_kwargs: 'x' })).toEqual([400, 'invalid_type', 'chat_template_kwargs']);
    expect((await w.post('/v1/chat/completions', { messages: user, max_tokens: 2, temperature: 0 })).choices[0].finish_reason).toBeDefined(); // still serving
  });
});
