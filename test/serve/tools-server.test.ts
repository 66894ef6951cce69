/**
 * Function calling through the server with the official openai@6 client, on the FakeService (its plain
 * chat prompt writes tool calls in the Hermes format, so tool_choice "auto" parses them). An edit makes the
 * fake answer a tool call; the stream helper's assembled message equals the unstreamed one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { FakeService } from './fake-service.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { chatMessages, hermesCall, plainChatPrompt } from '../../src/serve/chat-messages.js';
import { describeShared, readSharedJson } from '../helpers/shared.js';
import { fixtureWithConfig } from '../helpers/variant-fixture.js';
import { openWiseApp, type WiseApp } from '../helpers/wise-app.js';
import { rmSync } from 'node:fs';

const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  },
  { type: 'function', function: { name: 'get_time' } },
];
const ASKS = 'What is the weather in Oslo?';

/** Qwen2.5's way with tools, shortened: the tools as JSON in the system turn, calls as <tool_call> blocks, results as tool turns. */
const QWEN_LIKE = [
  '{%- if tools %}<|im_start|>system\n# Tools\n<tools>{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}\n</tools><|im_end|>\n{%- endif %}',
  '{%- for m in messages %}',
  '{%- if m.role == "assistant" and m.tool_calls %}<|im_start|>assistant\n{{ m.content }}{%- for tc in m.tool_calls %}<tool_call>\n{"name": "{{ tc.function.name }}", "city": "{{ tc.function.arguments.city }}"}\n</tool_call>{%- endfor %}<|im_end|>\n',
  '{%- elif m.role == "tool" %}<|im_start|>user\n<tool_response>\n{{ m.content }}\n</tool_response><|im_end|>\n',
  '{%- else %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endif %}',
  '{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}',
].join('');

/** Mistral 7B v0.3's way with tools, shortened: tools before the last user turn, calls after [TOOL_CALLS], ids of exactly 9 characters or an exception. */
const MISTRAL_LIKE = [
  '{%- for m in messages %}',
  '{%- if m.role == "user" %}{%- if tools and loop.last %}[AVAILABLE_TOOLS] {{ tools | tojson }}[/AVAILABLE_TOOLS]{%- endif %}[INST] {{ m.content }}[/INST]',
  '{%- elif m.tool_calls %}[TOOL_CALLS] [{%- for tc in m.tool_calls %}{%- if tc.id | length != 9 %}{{ raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}{%- endif %}{"name": "{{ tc.function.name }}", "arguments": {{ tc.function.arguments | tojson }}, "id": "{{ tc.id }}"}{%- endfor %}]',
  '{%- elif m.role == "tool" %}{%- if m.tool_call_id | length != 9 %}{{ raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}{%- endif %}[TOOL_RESULTS] {"content": {{ m.content | tojson }}, "call_id": "{{ m.tool_call_id }}"}[/TOOL_RESULTS]',
  '{%- elif m.role == "assistant" %} {{ m.content }}',
  '{%- else %}{{ raise_exception("Only user and assistant roles are supported!") }}{%- endif %}',
  '{%- endfor %}',
].join('');

describe('tools on the server (fake service)', () => {
  let server: RunningServer;
  let client: OpenAI;
  let service: FakeService;
  beforeAll(async () => {
    service = new FakeService({ tickMs: 0, editDelayMs: 0 });
    // the fake answers a prompt that ends with an edit's prompt: here, a chat turn asking for the weather
    await service.applyEdit({ prompt: `${ASKS}\nAssistant:`, target: `Let me look. ${hermesCall('get_weather', { city: 'Oslo' })}` });
    server = await startServer({ service, port: 0, token: 't', stderr: { write: () => true } });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });

  const model = (): string => service.baseName;

  it('auto: a Hermes block becomes tool_calls, the text before it content; finish_reason tool_calls', async () => {
    const r = await client.chat.completions.create({ model: model(), messages: [{ role: 'user', content: ASKS }], tools: TOOLS, max_tokens: 200 });
    const c = r.choices[0]!;
    expect(c.finish_reason).toBe('tool_calls');
    expect(c.message.content).toBe(' Let me look. ');
    expect(c.message.tool_calls).toHaveLength(1);
    const call = c.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect([call.type, call.function.name, JSON.parse(call.function.arguments)]).toEqual(['function', 'get_weather', { city: 'Oslo' }]);
  });

  it('auto: a reply without a block is plain content', async () => {
    const r = await client.chat.completions.create({ model: model(), messages: [{ role: 'user', content: 'Hello' }], tools: TOOLS, max_tokens: 12, temperature: 0 });
    expect(r.choices[0]!.message.tool_calls ?? []).toHaveLength(0);
    expect(r.choices[0]!.message.content).toBe(' the quick b');
    expect(r.choices[0]!.finish_reason).toBe('length');
  });

  it('streamed: the openai stream helper assembles the same message, and the first tool-call delta names the call', async () => {
    const body = { model: model(), messages: [{ role: 'user' as const, content: ASKS }], tools: TOOLS, max_tokens: 200 };
    const whole = await client.chat.completions.create(body);
    const stream = client.chat.completions.stream(body);
    const deltas: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta[] = [];
    stream.on('chunk', (c) => {
      if (c.choices[0]) deltas.push(c.choices[0].delta);
    });
    const final = await stream.finalChatCompletion();
    const strip = (m: { content: string | null; tool_calls?: unknown[] }) => ({ content: m.content, calls: (m.tool_calls ?? []).map((t) => (t as { function: unknown }).function) });
    expect(strip(final.choices[0]!.message)).toEqual(strip(whole.choices[0]!.message));
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    const firstCall = deltas.find((d) => d.tool_calls)!.tool_calls![0]!;
    expect([firstCall.index, firstCall.type, firstCall.function?.name]).toEqual([0, 'function', 'get_weather']);
    expect(firstCall.id).toMatch(/^call_/);
    // no content delta carries any of the block
    expect(deltas.map((d) => d.content ?? '').join('')).toBe(' Let me look. ');
  });

  it('a conversation with an assistant tool call and its result is taken and rendered as the plain prompt', async () => {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: 'user', content: ASKS },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '3 C and snow' },
    ];
    const r = await client.chat.completions.create({ model: model(), messages, tools: TOOLS, max_tokens: 5, temperature: 0 });
    expect(r.choices[0]!.message.content).toBe(' the ');
    const tok = await fetch(`${server.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages }) });
    const ids = ((await tok.json()) as { tokens: number[] }).tokens;
    expect(String.fromCodePoint(...ids.slice(service.prefixIds.length))).toBe(plainChatPrompt(chatMessages(messages as never)));
    expect(plainChatPrompt(chatMessages(messages as never))).toContain('Assistant: <tool_call>{"name":"get_weather","arguments":{"city":"Oslo"}}</tool_call>\nTool: 3 C and snow\nAssistant:');
    // with tools, /tokenize counts the prompt the chat route runs (tools rendered); a bad tool is a 400 naming it
    const withTools = await fetch(`${server.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages, tools: TOOLS }) });
    const toolIds = ((await withTools.json()) as { tokens: number[] }).tokens;
    expect(String.fromCodePoint(...toolIds.slice(service.prefixIds.length))).toBe(plainChatPrompt(chatMessages(messages as never), TOOLS as never));
    expect(toolIds.length).toBeGreaterThan(ids.length);
    const bad = await fetch(`${server.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages, tools: [{ type: 'function', function: {} }] }) });
    expect([bad.status, ((await bad.json()) as { error: { param: string } }).error.param]).toEqual([400, 'tools[0].function.name']);
  });

  it('tool_choice none: no tools in the prompt, the text as content', async () => {
    const r = await client.chat.completions.create({ model: model(), messages: [{ role: 'user', content: ASKS }], tools: TOOLS, tool_choice: 'none', max_tokens: 200 });
    expect(r.choices[0]!.message.content).toBe(` Let me look. ${hermesCall('get_weather', { city: 'Oslo' })}`);
    expect(r.choices[0]!.message.tool_calls ?? []).toHaveLength(0);
    expect(r.choices[0]!.finish_reason).toBe('stop');
  });

  /** A server over a FakeService whose prompt format is `format` and whose answer to ASKS is `target`; closed after `fn`. */
  const withFake = async (format: 'llama3_json' | 'mistral', target: string, fn: (fake: FakeService, c: OpenAI, body: { model: string; messages: { role: 'user'; content: string }[]; tools: typeof TOOLS; max_tokens: number }) => Promise<void>): Promise<void> => {
    const fake = new FakeService({ toolFormat: format, tickMs: 0, editDelayMs: 0 });
    await fake.applyEdit({ prompt: `${ASKS}\nAssistant:`, target });
    const s2 = await startServer({ service: fake, port: 0, token: 't', stderr: { write: () => true } });
    try {
      await fn(fake, new OpenAI({ baseURL: `${s2.url}/v1`, apiKey: 'x', maxRetries: 0 }), { model: 'fake-base', messages: [{ role: 'user' as const, content: ASKS }], tools: TOOLS, max_tokens: 200 });
    } finally {
      await s2.close();
    }
  };

  it("Llama 3's format: a reply of JSON objects becomes tool_calls, streamed as unstreamed", async () => {
    await withFake('llama3_json', '{"name": "get_weather", "parameters": {"city": "Oslo"}}', async (_fake, c2, body) => {
      const r = await c2.chat.completions.create(body);
      const call = r.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
      expect([r.choices[0]!.finish_reason, r.choices[0]!.message.content, call.function.name, JSON.parse(call.function.arguments)]).toEqual(['tool_calls', null, 'get_weather', { city: 'Oslo' }]);
      const final = await c2.chat.completions.stream(body).finalChatCompletion();
      expect((final.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall).function).toEqual(call.function);
      const plain = await c2.chat.completions.create({ ...body, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5, temperature: 0 });
      expect(plain.choices[0]!.message.content).toBe(' the ');
    });
  });

  it("Mistral's format: [TOOL_CALLS] and its array become tool_calls with 9-character ids; the text keeps special tokens", async () => {
    await withFake('mistral', 'Checking.[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Oslo"}}]', async (fake, c2, body) => {
      const r = await c2.chat.completions.create(body);
      expect(fake.lastOptions!.skipSpecialTokens).toBe(false);
      const call = r.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
      expect(call.id).toMatch(/^[A-Za-z0-9]{9}$/);
      expect([r.choices[0]!.finish_reason, r.choices[0]!.message.content, call.function.name, JSON.parse(call.function.arguments)]).toEqual(['tool_calls', ' Checking.', 'get_weather', { city: 'Oslo' }]);
      const final = await c2.chat.completions.stream(body).finalChatCompletion();
      expect(final.choices[0]!.message.content).toBe(' Checking.');
      expect((final.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall).function).toEqual(call.function);
      // a named function's call gets a Mistral id too; without tools the text skips special tokens as by default
      const named = await c2.chat.completions.create({ ...body, tool_choice: { type: 'function', function: { name: 'get_time' } } });
      expect(named.choices[0]!.message.tool_calls![0]!.id).toMatch(/^[A-Za-z0-9]{9}$/);
      await c2.chat.completions.create({ ...body, tool_choice: 'none' });
      expect(fake.lastOptions!.skipSpecialTokens).toBeUndefined();
      await c2.chat.completions.create({ ...body, tools: undefined, skip_special_tokens: false } as never);
      expect(fake.lastOptions!.skipSpecialTokens).toBe(false); // vLLM's field, asked for directly
    });
  });

  it('a checkpoint whose template writes no tool calls: auto is a 400 naming tool_choice, the server keeps serving', async () => {
    const s2 = await startServer({ service: new FakeService({ toolFormat: null, tickMs: 0 }), port: 0, token: 't', stderr: { write: () => true } });
    try {
      const c2 = new OpenAI({ baseURL: `${s2.url}/v1`, apiKey: 'x', maxRetries: 0 });
      const err = await c2.chat.completions.create({ model: 'fake-base', messages: [{ role: 'user', content: 'hi' }], tools: TOOLS }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect([(err as InstanceType<typeof OpenAI.APIError>).status, (err as InstanceType<typeof OpenAI.APIError>).code, (err as InstanceType<typeof OpenAI.APIError>).param]).toEqual([400, 'unsupported_value', 'tool_choice']);
      const ok = await c2.chat.completions.create({ model: 'fake-base', messages: [{ role: 'user', content: 'hi' }], tools: TOOLS, tool_choice: 'none', max_tokens: 3, temperature: 0 });
      expect(ok.choices[0]!.message.content).toBe(' th');
    } finally {
      await s2.close();
    }
  });
});

describeShared('tools through a checkpoint\'s chat template (tiny-qwen2 with a Qwen2.5-like template)', () => {
  const dirs: string[] = [];
  const apps: WiseApp[] = [];
  const open = async (template: string): Promise<WiseApp> => {
    const cfg = readSharedJson<Record<string, unknown>>('fixtures/hf/tiny-qwen2/tokenizer_config.json');
    const dir = fixtureWithConfig('tiny-qwen2', { max_position_embeddings: 512 }, { 'tokenizer_config.json': { ...cfg, chat_template: template } });
    dirs.push(dir);
    const w = await openWiseApp(dir);
    apps.push(w);
    return w;
  };
  afterAll(async () => {
    for (const w of apps) await w.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the template gets the tools, the assistant calls with their arguments as an object, and the tool results; auto is allowed', async () => {
    const w = await open(QWEN_LIKE);
    expect(w.service.toolFormat).toBe('hermes');
    const messages = chatMessages([
      { role: 'user', content: ASKS },
      { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '3 C' },
    ]);
    const ids = w.service.chatPrompt(messages, TOOLS as never) as number[];
    const text = w.service.decode(ids);
    expect(text).toContain('<tools>{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city"');
    expect(text).toContain('{"name": "get_time"}}</tools>');
    expect(text).toContain('"name": "get_weather", "city": "Oslo"'); // arguments.city read from the parsed object
    expect(text).toContain('<tool_response>\n3 C\n</tool_response>');
    expect(text.endsWith('<|im_start|>assistant')).toBe(true);
    // without tools, the template's tools block is absent
    expect(w.service.decode(w.service.chatPrompt(messages) as number[])).not.toContain('<tools>');
    const r = await w.post('/v1/chat/completions', { messages: [{ role: 'user', content: ASKS }], tools: TOOLS, max_tokens: 4, temperature: 0 });
    expect(r.choices[0].message.content.length).toBeGreaterThan(0); // the random tiny model writes no call: content (RoPE: a longer context is fine)
  });

  it("a Mistral-like template: call ids cut to their last 9 characters as its template demands; what it raises is a 400 naming messages", async () => {
    const w = await open(MISTRAL_LIKE);
    expect(w.service.toolFormat).toBe('mistral');
    const turns = [
      { role: 'user', content: ASKS },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_0123456789abcdef', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_0123456789abcdef', content: '3 C' },
    ];
    const text = w.service.decode(w.service.chatPrompt(chatMessages(turns as never), TOOLS as never) as number[]);
    expect(text).toContain('[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "789abcdef"}]');
    expect(text).toContain('"call_id": "789abcdef"');
    const bad = await w.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: w.service.baseName, messages: [{ role: 'system', content: 'Be brief.' }, ...turns] } });
    expect([bad.statusCode, bad.json().error.param]).toEqual([400, 'messages']);
    expect(bad.json().error.message).toMatch(/Only user and assistant roles are supported/);
    // auto keeps special tokens in the text (the tiny model's only one, <|endoftext|> = id 0, forced under ignore_eos); none skips them
    const force = { messages: turns.slice(0, 1), tools: TOOLS, max_tokens: 3, temperature: 0, logit_bias: { '0': 100 }, ignore_eos: true };
    expect((await w.post('/v1/chat/completions', force)).choices[0].message.content).toBe('<|endoftext|>'.repeat(3));
    expect((await w.post('/v1/chat/completions', { ...force, tool_choice: 'none' })).choices[0].message.content).toBe('');
    const text2 = { prompt: 'a b', max_tokens: 2, temperature: 0, logit_bias: { '0': 100 }, ignore_eos: true };
    expect([(await w.post('/v1/completions', { ...text2, skip_special_tokens: false })).choices[0].text, (await w.post('/v1/completions', text2)).choices[0].text]).toEqual(['<|endoftext|>'.repeat(2), '']);
    const named = await w.post('/v1/chat/completions', { ...force, logit_bias: undefined, ignore_eos: undefined, max_tokens: 30, tool_choice: { type: 'function', function: { name: 'get_time' } } });
    expect(named.choices[0].message.tool_calls[0].id).toMatch(/^[A-Za-z0-9]{9}$/);
  });

  it('a template without <tool_call>: auto is a 400, required still runs (constrained)', async () => {
    const w = await open('{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endfor %}<|im_start|>assistant\n');
    expect(w.service.toolFormat).toBeNull();
    const bad = await w.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: w.service.baseName, messages: [{ role: 'user', content: 'hi' }], tools: TOOLS } });
    expect([bad.statusCode, bad.json().error.param]).toEqual([400, 'tool_choice']);
    const r = await w.post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_time' } }, max_tokens: 40, temperature: 0 });
    const call = r.choices[0].message.tool_calls[0];
    expect(call.function.name).toBe('get_time');
    expect(call.function.arguments.startsWith('{')).toBe(true);
  });
}, ['fixtures/hf']);
