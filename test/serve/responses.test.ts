/**
 * POST /v1/responses with the official openai@6 client (`client.responses`), on the FakeService: text, the
 * max_output_tokens cut (incomplete), instructions and input items rendered as the chat route renders the same
 * conversation, function calls out and back in, text.format as structured output, the stream's events assembling to
 * the unstreamed response, and the 400s naming the Responses field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { FakeService } from './fake-service.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { chatMessages, hermesCall, plainChatPrompt } from '../../src/serve/chat-messages.js';

const ASKS = 'What is the weather in Oslo?';
const TOOLS: OpenAI.Responses.FunctionTool[] = [
  { type: 'function', name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: false },
  { type: 'function', name: 'get_time', parameters: null, strict: false },
];

describe('/v1/responses (fake service)', () => {
  let server: RunningServer;
  let client: OpenAI;
  let fake: FakeService;
  const model = 'fake-base';
  beforeAll(async () => {
    fake = new FakeService({ tickMs: 0, editDelayMs: 0 });
    await fake.applyEdit({ prompt: 'User: The capital of Norway is\nAssistant:', target: 'Oslo.' });
    await fake.applyEdit({ prompt: `${ASKS}\nAssistant:`, target: `Let me look. ${hermesCall('get_weather', { city: 'Oslo' })}` });
    server = await startServer({ service: fake, port: 0, token: 't', stderr: { write: () => true } });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });

  const post = async (body: unknown): Promise<{ status: number; json: { error?: { code: string; param: string | null; message: string } } & Record<string, unknown> }> => {
    const r = await fetch(`${server.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as never };
  };

  it('a text input: one message item, output_text, status completed, usage in tokens, the settings echoed', async () => {
    const r = await client.responses.create({ model, input: 'The capital of Norway is', max_output_tokens: 50, temperature: 0 });
    expect(r.object).toBe('response');
    expect(r.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect([r.status, r.incomplete_details, r.error]).toEqual(['completed', null, null]);
    expect(r.output_text).toBe(' Oslo.');
    expect(r.output).toHaveLength(1);
    const item = r.output[0] as OpenAI.Responses.ResponseOutputMessage;
    expect([item.type, item.role, item.status, item.id.startsWith('msg_')]).toEqual(['message', 'assistant', 'completed', true]);
    expect(item.content).toEqual([{ type: 'output_text', text: ' Oslo.', annotations: [], logprobs: [] }]);
    const prompt = plainChatPrompt(chatMessages([{ role: 'user', content: 'The capital of Norway is' }]));
    expect(fake.lastPrompt).toBe(prompt);
    expect(r.usage).toMatchObject({ input_tokens: Array.from(prompt).length, output_tokens: 6, total_tokens: Array.from(prompt).length + 6 });
    expect([r.model, r.temperature, r.max_output_tokens, (r as unknown as { store: boolean }).store, r.tool_choice, r.tools]).toEqual([`${model}+edits@2`, 0, 50, true, 'none', []]);
    expect((r as unknown as { wise: { memory: string } }).wise.memory).toBe('mem-1');
  });

  it('max_output_tokens cuts the output: status incomplete, reason max_output_tokens, the item incomplete', async () => {
    const r = await client.responses.create({ model, input: 'Hello', max_output_tokens: 12, temperature: 0 });
    expect([r.status, r.incomplete_details?.reason, r.output_text]).toEqual(['incomplete', 'max_output_tokens', ' the quick b']);
    expect((r.output[0] as OpenAI.Responses.ResponseOutputMessage).status).toBe('incomplete');
  });

  it('instructions and input items render as the same chat conversation would', async () => {
    await client.responses.create({
      model,
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: 'Hi' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello!', annotations: [] }] } as never,
        { role: 'developer', content: [{ type: 'input_text', text: 'Answer in ' }, { type: 'input_text', text: 'English.' }] },
        { role: 'user', content: 'The capital of Norway is' },
      ],
      max_output_tokens: 20,
    });
    expect(fake.lastPrompt).toBe(
      plainChatPrompt(chatMessages([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'developer', content: 'Answer in English.' },
        { role: 'user', content: 'The capital of Norway is' },
      ])),
    );
  });

  it('tools: a Hermes block becomes a function_call item after the text; the call goes back in with its output', async () => {
    const r = await client.responses.create({ model, input: ASKS, tools: TOOLS, max_output_tokens: 200 });
    expect(r.status).toBe('completed');
    expect(r.output.map((o) => o.type)).toEqual(['message', 'function_call']);
    expect(r.output_text).toBe(' Let me look. ');
    const call = r.output[1] as OpenAI.Responses.ResponseFunctionToolCall;
    expect([call.name, JSON.parse(call.arguments), call.status]).toEqual(['get_weather', { city: 'Oslo' }, 'completed']);
    expect(call.call_id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(call.id).toMatch(/^fc_/);
    expect(r.tool_choice).toBe('auto');

    // the next turn: the output items as input, then the function's result
    await client.responses.create({ model, input: [{ role: 'user', content: ASKS }, ...(r.output as never[]), { type: 'function_call_output', call_id: call.call_id, output: '3 C and snow' }], tools: TOOLS, max_output_tokens: 5 });
    const chat = chatMessages([
      { role: 'user', content: ASKS },
      { role: 'assistant', content: ' Let me look. ', tool_calls: [{ id: call.call_id, type: 'function', function: { name: 'get_weather', arguments: call.arguments } }] },
      { role: 'tool', tool_call_id: call.call_id, content: '3 C and snow' },
    ]);
    const chatTools = [
      { type: 'function' as const, function: { name: 'get_weather', description: 'Weather in a city', parameters: TOOLS[0]!.parameters!, strict: false } },
      { type: 'function' as const, function: { name: 'get_time', strict: false } },
    ];
    expect(fake.lastPrompt).toBe(plainChatPrompt(chat, chatTools));
  });

  it('tool_choice {type: function, name}: the output is that call; none: the block stays text', async () => {
    const named = await client.responses.create({ model, input: ASKS, tools: TOOLS, tool_choice: { type: 'function', name: 'get_weather' }, max_output_tokens: 200 });
    expect(fake.lastOptions?.structured?.field).toBe('tool_choice');
    expect(named.output.every((o) => o.type === 'function_call')).toBe(true);
    const none = await client.responses.create({ model, input: ASKS, tools: TOOLS, tool_choice: 'none', max_output_tokens: 200 });
    expect(none.output_text).toBe(` Let me look. ${hermesCall('get_weather', { city: 'Oslo' })}`);
  });

  it('text.format json_schema is structured output; a schema outside the subset is a 400 naming text.format', async () => {
    await client.responses.create({ model, input: 'Hi', text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object', properties: { a: { type: 'integer' } } } } }, max_output_tokens: 5 });
    expect(fake.lastOptions?.structured?.field).toBe('response_format');
    await client.responses.create({ model, input: 'Hi', text: { format: { type: 'json_object' } }, max_output_tokens: 5 });
    expect(fake.lastOptions?.structured).toBeDefined();
    await client.responses.create({ model, input: 'Hi', text: { format: { type: 'text' } }, max_output_tokens: 5 });
    expect(fake.lastOptions?.structured).toBeUndefined();
    const bad = await post({ model, input: 'Hi', text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object', patternProperties: { a: {} } } } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error!.param).toMatch(/^text\.format/);
    const both = await post({ model, input: ASKS, tools: TOOLS, tool_choice: 'required', text: { format: { type: 'json_object' } } });
    expect([both.status, both.json.error!.param]).toEqual([400, 'text.format']);
  });

  it('streamed: named events in order, numbered from 0, assembling to the unstreamed response', async () => {
    for (const body of [
      { model, input: 'The capital of Norway is', max_output_tokens: 50, temperature: 0 },
      { model, input: ASKS, tools: TOOLS, max_output_tokens: 200 },
      { model, input: 'Hello', max_output_tokens: 12, temperature: 0 },
    ]) {
      const whole = await client.responses.create(body);
      const stream = client.responses.stream(body);
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      stream.on('event', (e) => events.push(e));
      const final = await stream.finalResponse();
      // ids are drawn per response; the stream helper adds `parsed: null` to text parts and `parsed_arguments: null` to calls
      const strip = (o: OpenAI.Responses.ResponseOutputItem[]) =>
        o.map((i) => {
          const { parsed_arguments: _, ...rest } = i as unknown as Record<string, unknown>;
          return { ...rest, id: undefined, ...('call_id' in i ? { call_id: undefined } : {}), ...('content' in i ? { content: (i.content as unknown as Record<string, unknown>[]).map(({ parsed: _p, ...c }) => c) } : {}) };
        });
      expect(strip(final.output)).toEqual(strip(whole.output));
      expect([final.status, final.output_text]).toEqual([whole.status, whole.output_text]);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      const types = events.map((e) => e.type);
      expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
      expect(types.at(-1)).toBe(whole.status === 'completed' ? 'response.completed' : 'response.incomplete');
      const text = events.filter((e): e is OpenAI.Responses.ResponseTextDeltaEvent => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
      expect(text).toBe(whole.output_text);
      if (body.tools) {
        expect(types).toContain('response.function_call_arguments.delta');
        const done = events.find((e): e is OpenAI.Responses.ResponseFunctionCallArgumentsDoneEvent => e.type === 'response.function_call_arguments.done')!;
        expect(JSON.parse(done.arguments)).toEqual({ city: 'Oslo' });
        expect(types.indexOf('response.output_text.done')).toBeLessThan(types.indexOf('response.function_call_arguments.delta'));
      }
    }
  });

  it('keeps responses: previous_response_id continues the conversation (not its instructions); retrieve, input_items, delete', async () => {
    const first = await client.responses.create({ model, instructions: 'Be brief.', input: 'Hi', max_output_tokens: 6, temperature: 0 });
    expect((first as unknown as { store: boolean }).store).toBe(true);
    const second = await client.responses.create({ model, previous_response_id: first.id, input: [{ role: 'user', content: 'The capital of Norway is' }], max_output_tokens: 20 });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe(' Oslo.');
    expect(fake.lastPrompt).toBe(plainChatPrompt(chatMessages([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: first.output_text },
      { role: 'user', content: 'The capital of Norway is' },
    ])));
    // a chain: the third sees both turns before it
    await client.responses.create({ model, previous_response_id: second.id, input: 'Thanks', max_output_tokens: 3 });
    expect(fake.lastPrompt).toBe(plainChatPrompt(chatMessages([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: first.output_text },
      { role: 'user', content: 'The capital of Norway is' },
      { role: 'assistant', content: ' Oslo.' },
      { role: 'user', content: 'Thanks' },
    ])));

    const got = await client.responses.retrieve(first.id);
    expect([got.id, got.output_text, got.status]).toEqual([first.id, first.output_text, first.status]);
    const items = await client.responses.inputItems.list(second.id);
    expect(items.data.map((i) => [i.type, (i as { role?: string }).role])).toEqual([['message', 'user']]);
    expect(items.data[0]!.id).toMatch(/^msg_/);
    const del = await client.responses.delete(first.id);
    expect(del).toEqual({ id: first.id, object: 'response', deleted: true });
    const gone = await fetch(`${server.url}/v1/responses/${first.id}`);
    expect([gone.status, ((await gone.json()) as { error: { code: string } }).error.code]).toEqual([404, 'not_found']);
    // what the deleted response held is still in the responses that continued it
    await client.responses.create({ model, previous_response_id: second.id, input: 'Again', max_output_tokens: 3 });
    expect(fake.lastPrompt).toContain('User: Hi');

    const unkept = await client.responses.create({ model, input: 'Hi', store: false, max_output_tokens: 3 });
    expect((unkept as unknown as { store: boolean }).store).toBe(false);
    expect((await fetch(`${server.url}/v1/responses/${unkept.id}`)).status).toBe(404);
  });

  it('input_items: newest first unless order=asc, limit and after', async () => {
    const r = await client.responses.create({ model, input: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }], max_output_tokens: 2 });
    const list = async (q: string) => (await (await fetch(`${server.url}/v1/responses/${r.id}/input_items${q}`)).json()) as { data: { id: string; content: { text: string }[] }[]; has_more: boolean; first_id: string; last_id: string };
    const text = (d: { content: { text: string }[] }[]) => d.map((i) => i.content[0]!.text);
    expect(text((await list('')).data)).toEqual(['c', 'b', 'a']);
    const asc = await list('?order=asc&limit=2');
    expect([text(asc.data), asc.has_more]).toEqual([['a', 'b'], true]);
    const rest = await list(`?order=asc&after=${asc.last_id}`);
    expect([text(rest.data), rest.has_more]).toEqual([['c'], false]);
    expect((await fetch(`${server.url}/v1/responses/${r.id}/input_items?limit=0`)).status).toBe(400);
  });

  it('keeps the last serve.responses_store responses; with 0 none, and previous_response_id is refused', async () => {
    const f2 = new FakeService({ tickMs: 0, editDelayMs: 0 });
    for (const [keep, check] of [
      [2, async (c: OpenAI, url: string) => {
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) ids.push((await c.responses.create({ model, input: `q${i}`, max_output_tokens: 1 })).id);
        await c.responses.retrieve(ids[1]!); // q0 is already out (three kept into two); reading q1 leaves q2 the oldest
        expect((await fetch(`${url}/v1/responses/${ids[0]}`)).status).toBe(404);
        await c.responses.create({ model, input: 'q3', max_output_tokens: 1 });
        expect((await fetch(`${url}/v1/responses/${ids[2]}`)).status).toBe(404);
        expect((await fetch(`${url}/v1/responses/${ids[1]}`)).status).toBe(200);
      }],
      [0, async (c: OpenAI, url: string) => {
        const r = await c.responses.create({ model, input: 'q', max_output_tokens: 1 });
        expect((r as unknown as { store: boolean }).store).toBe(false);
        const e = await fetch(`${url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, input: 'x', previous_response_id: r.id }) });
        expect([e.status, ((await e.json()) as { error: { code: string; param: string } }).error]).toEqual([400, expect.objectContaining({ code: 'unsupported_field', param: 'previous_response_id' })]);
      }],
    ] as const) {
      const s2 = await startServer({ service: f2, port: 0, token: 't', responsesStore: keep, stderr: { write: () => true } });
      try {
        await check(new OpenAI({ baseURL: `${s2.url}/v1`, apiKey: 'x', maxRetries: 0 }), s2.url);
      } finally {
        await s2.close();
      }
    }
  });

  it.each([
    [{ previous_response_id: 'resp_1' }, 400, 'invalid_value', 'previous_response_id'],
    [{ conversation: 'conv_1' }, 400, 'unsupported_field', 'conversation'],
    [{ include: ['reasoning.encrypted_content'] }, 400, 'unsupported_field', 'include'],
    [{ top_logprobs: 21 }, 400, 'invalid_value', 'top_logprobs'],
    [{ truncation: 'auto' }, 400, 'unsupported_field', 'truncation'],
    [{ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] }, 400, 'unsupported_value', 'input[0].content[0].type'],
    [{ input: [{ type: 'reasoning', summary: [] }] }, 400, 'unsupported_value', 'input[0].type'],
    [{ input: [{ role: 'robot', content: 'x' }] }, 400, 'invalid_value', 'input[0].role'],
    [{ input: [{ type: 'function_call_output', output: 'x' }] }, 400, 'invalid_value', 'input[0].call_id'],
    [{ tools: [{ type: 'web_search' }] }, 400, 'unsupported_value', 'tools[0].type'],
    [{ tools: [{ type: 'function', name: 'bad name' }] }, 400, 'invalid_value', 'tools[0].name'],
    [{ tools: TOOLS, tool_choice: { type: 'function', name: 'nope' } }, 400, 'invalid_value', 'tool_choice.name'],
    [{ max_output_tokens: 0 }, 400, 'invalid_value', 'max_output_tokens'],
    [{ input: undefined }, 400, 'missing_field', 'input'],
    [{ model: 'other' }, 404, 'model_not_found', 'model'],
  ])('%o → %i %s naming %s', async (patch, status, code, param) => {
    const r = await post({ model, input: 'Hi', ...patch });
    expect([r.status, r.json.error?.code, r.json.error?.param]).toEqual([status, code, param]);
    if (status === 400 && code !== 'missing_field') expect(r.json.error!.message.startsWith(param)).toBe(true);
  });
});
