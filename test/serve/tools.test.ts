/**
 * Function calling's pure parts: the plan of tools/tool_choice (src/serve/tools.ts), the Hermes parser and the
 * streamed-vs-whole message shaping (src/serve/tool-output.ts), and the plain prompt's tool rendering
 * (src/serve/chat-messages.ts).
 */
import { describe, expect, it } from 'vitest';
import { callIdsFor, templateToolFormat, toolPlan, type ToolPlan } from '../../src/serve/tools.js';
import { ChoiceOutput, choiceMessage, mergeDeltas, parseHermes, parseLlama3Json, parseMistral, type ChatDelta } from '../../src/serve/tool-output.js';
import { chatMessages, plainChatPrompt, hermesCall, type ToolDef } from '../../src/serve/chat-messages.js';
import { ApiError } from '../../src/serve/errors.js';
import { Rng } from '../../src/util/rng.js';
import { accepts } from '../helpers/recognize.js';

const WEATHER: ToolDef = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { enum: ['c', 'f'] } }, required: ['city'], additionalProperties: false },
  },
};
const TIME: ToolDef = { type: 'function', function: { name: 'get_time' } };
const TOOLS = [WEATHER, TIME];

function apiError(fn: () => unknown): { code: string; param: string | null; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return { code: e.code, param: e.param, message: e.message };
    throw e;
  }
  throw new Error('no error thrown');
}

const counter = (): (() => string) => {
  let n = 0;
  return () => `call_${n++}`;
};

describe('toolPlan', () => {
  it('no tools: mode none; tools given: auto by default, or as tool_choice says', () => {
    expect(toolPlan({}, 'hermes').mode).toBe('none');
    expect(toolPlan({ tools: [] }, 'hermes').mode).toBe('none');
    const auto = toolPlan({ tools: TOOLS }, 'hermes');
    expect([auto.mode, auto.tools.length, auto.structured]).toEqual(['auto', 2, undefined]);
    const none = toolPlan({ tools: TOOLS, tool_choice: 'none' }, null);
    expect([none.mode, none.tools]).toEqual(['none', []]); // the prompt shows no tools
  });

  it('auto without a tool-call format is a 400 naming tool_choice, given or by default', () => {
    for (const body of [{ tools: TOOLS }, { tools: TOOLS, tool_choice: 'auto' }]) {
      const e = apiError(() => toolPlan(body, null));
      expect([e.code, e.param]).toEqual(['unsupported_value', 'tool_choice']);
      expect(e.message).toMatch(/<tool_call>/);
    }
    expect(toolPlan({ tools: TOOLS, tool_choice: 'required' }, null).mode).toBe('required');
  });

  it('named: the output is the function arguments, held to its parameters schema', () => {
    const p = toolPlan({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_weather' } } }, null);
    expect([p.mode, p.name]).toEqual(['named', 'get_weather']);
    const r = p.structured!.recognizer;
    expect(accepts(r, '{"city": "Paris", "unit": "c"}')).toBe(true);
    expect(accepts(r, '{"unit": "c"}')).toBe(false); // city is required
    expect(accepts(r, '{"city": "Paris", "unit": "k"}')).toBe(false);
    expect(accepts(r, '{"city": "Paris", "wind": 3}')).toBe(false);
    // a function without parameters takes an object
    const t = toolPlan({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_time' } } }, null).structured!.recognizer;
    expect(accepts(t, '{}')).toBe(true);
    expect(accepts(t, '[]')).toBe(false);
  });

  it('required: an array of {name, parameters}, each held to its own function; one with parallel_tool_calls false', () => {
    const r = toolPlan({ tools: TOOLS, tool_choice: 'required' }, null).structured!.recognizer;
    expect(accepts(r, '[{"name": "get_weather", "parameters": {"city": "Oslo"}}]')).toBe(true);
    expect(accepts(r, '[{"parameters": {}, "name": "get_time"}, {"name": "get_weather", "parameters": {"city": "Rome"}}]')).toBe(true);
    expect(accepts(r, '[]')).toBe(false);
    expect(accepts(r, '[{"name": "get_weather", "parameters": {}}]')).toBe(false); // city missing
    expect(accepts(r, '[{"name": "get_time", "parameters": {"city": 1}}]')).toBe(true); // get_time's parameters: any object
    expect(accepts(r, '[{"name": "get_date", "parameters": {}}]')).toBe(false);
    const one = toolPlan({ tools: TOOLS, tool_choice: 'required', parallel_tool_calls: false }, null).structured!.recognizer;
    expect(accepts(one, '[{"name": "get_time", "parameters": {}}]')).toBe(true);
    expect(accepts(one, '[{"name": "get_time", "parameters": {}}, {"name": "get_time", "parameters": {}}]')).toBe(false);
  });

  it("a parameters schema with $defs: its refs point into it, named or inside required's array", () => {
    const place: ToolDef = {
      type: 'function',
      function: {
        name: 'book',
        parameters: { $defs: { City: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } }, type: 'object', properties: { to: { $ref: '#/$defs/City' } }, required: ['to'], additionalProperties: false },
      },
    };
    const named = toolPlan({ tools: [place, TIME], tool_choice: { type: 'function', function: { name: 'book' } } }, null).structured!.recognizer;
    expect(accepts(named, '{"to": {"name": "Oslo"}}')).toBe(true);
    expect(accepts(named, '{"to": {"city": "Oslo"}}')).toBe(false);
    const req = toolPlan({ tools: [place, TIME], tool_choice: 'required' }, null).structured!.recognizer;
    expect(accepts(req, '[{"name": "book", "parameters": {"to": {"name": "Oslo"}}}]')).toBe(true);
    expect(accepts(req, '[{"name": "book", "parameters": {"to": "Oslo"}}]')).toBe(false);
  });

  it('bad tools and choices name what is wrong', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ tools: {} }, 'tools'],
      [{ tools: [{ type: 'retrieval' }] }, 'tools[0].type'],
      [{ tools: [{ type: 'function', function: { name: 'has space' } }] }, 'tools[0].function.name'],
      [{ tools: [{ type: 'function', function: { name: 'f', parameters: [] } }] }, 'tools[0].function.parameters'],
      [{ tools: [{ type: 'function', function: { name: 'f', description: 3 } }] }, 'tools[0].function.description'],
      [{ tools: TOOLS, tool_choice: 'sometimes' }, 'tool_choice'],
      [{ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice.function.name'],
      [{ tool_choice: 'auto' }, 'tool_choice'],
      [{ tools: TOOLS, parallel_tool_calls: 'yes' }, 'parallel_tool_calls'],
      [{ tools: [TIME, { type: 'function', function: { name: 'g', parameters: { type: 'object', propertyNames: { maxLength: 3 } } } }], tool_choice: 'required' }, 'tools[1].function.parameters'],
    ];
    for (const [body, param] of cases) expect(apiError(() => toolPlan(body, 'hermes')).param, JSON.stringify(body)).toBe(param);
    // auto does not constrain, so a schema outside the subset is not its concern
    expect(toolPlan({ tools: [{ type: 'function', function: { name: 'g', parameters: { type: 'object', propertyNames: { maxLength: 3 } } } }] }, 'hermes').mode).toBe('auto');
  });
});

describe('parseHermes', () => {
  const names = new Set(['get_weather', 'get_time']);
  it('reads each block; the last may be unclosed; arguments default to {}', () => {
    const calls = parseHermes(`Let me check.${hermesCall('get_weather', { city: 'Paris' })}\n<tool_call>\n{"name": "get_time"}`, names, counter());
    expect(calls).toEqual([
      { id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ]);
  });
  it('anything that is not a call of a declared function with object arguments: null', () => {
    for (const t of ['no call here', '<tool_call>{"name": "get_date"}</tool_call>', '<tool_call>{"name": "get_time", "arguments": "now"}</tool_call>', '<tool_call>{"name": get_time}</tool_call>', `${hermesCall('get_time', {})}<tool_call>oops</tool_call>`]) {
      expect(parseHermes(t, names, counter()), t).toBeNull();
    }
  });
});

describe('parseLlama3Json', () => {
  const names = new Set(['get_weather', 'get_time']);
  it('one or more objects with parameters (or arguments), ; between', () => {
    const calls = parseLlama3Json(' {"name": "get_weather", "parameters": {"city": "a;b}"}}; {"name": "get_time", "arguments": {}}\n', names, counter());
    expect(calls!.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([['get_weather', { city: 'a;b}' }], ['get_time', {}]]);
  });
  it('anything else: null', () => {
    for (const t of ['It is sunny.', '{"name": "get_date", "parameters": {}}', '{"name": "get_time", "parameters": 3}', '{"name": "get_time"', '{"name": "get_time"} and more']) {
      expect(parseLlama3Json(t, names, counter()), t).toBeNull();
    }
  });
  it("a template's format: <tool_call> tags, Mistral's [TOOL_CALLS], Llama 3's parameters JSON, or none", () => {
    expect(templateToolFormat('{% for t in tools %}<tool_call>{% endfor %}')).toBe('hermes');
    expect(templateToolFormat('{%- elif message.tool_calls is defined %}{{- "[TOOL_CALLS] [" }}')).toBe('mistral');
    expect(templateToolFormat('Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}')).toBe('llama3_json');
    expect(templateToolFormat('{{ messages[0].content }}')).toBeNull();
  });
});

describe('parseMistral', () => {
  const names = new Set(['get_weather', 'get_time']);
  const read = (t: string) => parseMistral(t, names, counter())?.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments)]) ?? null;
  it('before v11: [TOOL_CALLS] then an array of {name, arguments}; text after the array is ignored (vLLM raw_decode)', () => {
    expect(read('[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "a]b"}}, {"name": "get_time"}]</s>')).toEqual([
      ['call_0', 'get_weather', { city: 'a]b' }],
      ['call_1', 'get_time', {}],
    ]);
  });
  it('v11 and later: [TOOL_CALLS]name[ARGS]{…} (or name{…}) per call; content before the first token is not a call', () => {
    expect(read('Let me look.[TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"}[TOOL_CALLS]get_time{}')).toEqual([
      ['call_0', 'get_weather', { city: 'Oslo' }],
      ['call_1', 'get_time', {}],
    ]);
  });
  it('anything else: null', () => {
    for (const t of [
      'It is sunny.',
      '[TOOL_CALLS] [{"name": "get_date", "arguments": {}}]',
      '[TOOL_CALLS] [{"name": "get_time", "arguments": "now"}]',
      '[TOOL_CALLS] [{"name": "get_time"',
      '[TOOL_CALLS] []',
      '[TOOL_CALLS]get_time{"a": 1} more',
      '[TOOL_CALLS]get_time',
      '[TOOL_CALLS]get_weather[ARGS]{"city": }',
    ]) {
      expect(parseMistral(t, names, counter()), t).toBeNull();
    }
  });
  it("Mistral's call ids: ids over 9 characters keep their last 9, in calls and results; other formats keep them", () => {
    const msgs = chatMessages([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_0123456789abcdef', type: 'function', function: { name: 'get_time', arguments: '{}' } }, { id: 'Ab3dE6gH9', type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_0123456789abcdef', content: '12:00' },
    ]);
    const cut = callIdsFor(msgs, 'mistral');
    expect([cut[1]!.tool_calls!.map((c) => c.id), cut[2]!.tool_call_id]).toEqual([['789abcdef', 'Ab3dE6gH9'], '789abcdef']);
    expect(callIdsFor(msgs, 'hermes')).toEqual(msgs);
    expect(msgs[2]!.tool_call_id).toBe('call_0123456789abcdef'); // not changed in place
  });
});

describe('ChoiceOutput: a stream assembles to the whole message', () => {
  const plans: Record<string, ToolPlan> = {
    none: toolPlan({}, 'hermes'),
    named: toolPlan({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_weather' } } }, 'hermes'),
    required: toolPlan({ tools: TOOLS, tool_choice: 'required' }, 'hermes'),
    auto: toolPlan({ tools: TOOLS }, 'hermes'),
    llama: toolPlan({ tools: TOOLS }, 'llama3_json'),
    mistral: toolPlan({ tools: TOOLS }, 'mistral'),
    single: toolPlan({ tools: TOOLS, parallel_tool_calls: false }, 'hermes'),
  };
  const texts = [
    '',
    'Paris is sunny.',
    '  \n',
    '{"city": "Paris"}',
    '[{"name": "get_weather", "parameters": {"city": "Oslo"}}, {"name": "get_time", "parameters": {}}]',
    '[{"name": "get_weather", "parameters": {"ci',
    ` ${hermesCall('get_weather', { city: 'Oslo' })}`,
    `Checking. ${hermesCall('get_time', {})}${hermesCall('get_weather', { city: 'Rome' })}`,
    'I use <tool_ but not a call',
    'A <tool_call>{"broken": true}</tool_call> block',
    ' {"name": "get_weather", "parameters": {"city": "Oslo"}}; {"name": "get_time", "parameters": {}}',
    '{"name": "get_weather", "parameters": {"ci',
    'Sure: {"name": "get_time", "parameters": {}}',
    'Checking.[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Oslo"}}]',
    '[TOOL_CALLS]get_time[ARGS]{}[TOOL_CALLS]get_weather[ARGS]{"city": "Rome"}',
    'A [TOOL_ token, then [TOOL_CALLS] broken',
  ];

  it('for every mode, text and random split: merged deltas = the whole message; same finish reason', () => {
    const rng = new Rng(17);
    for (const [mode, plan] of Object.entries(plans)) {
      for (const text of texts) {
        const whole = choiceMessage(plan, text, 'stop', counter());
        for (let trial = 0; trial < 20; trial++) {
          const out = new ChoiceOutput(plan, counter());
          const deltas: (ChatDelta | null)[] = [];
          let at = 0;
          while (at < text.length) {
            const n = 1 + rng.int(6);
            deltas.push(out.push(text.slice(at, at + n)));
            at += n;
          }
          const last = out.finish('stop');
          deltas.push(last.delta);
          expect(mergeDeltas(deltas, plan), `${mode}: ${JSON.stringify(text)}`).toEqual(whole.message);
          expect(last.finishReason).toBe(whole.finishReason);
        }
      }
    }
  });

  it('the messages each mode makes', () => {
    const msg = (mode: string, text: string, finish = 'stop') => choiceMessage(plans[mode]!, text, finish, counter());
    expect(msg('none', 'Paris.')).toEqual({ message: { role: 'assistant', content: 'Paris.' }, finishReason: 'stop' });
    expect(msg('named', '{"city": "Paris"}')).toEqual({
      message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
      finishReason: 'stop',
    });
    // cut short: the arguments as far as they came, finish length
    expect(msg('named', '{"city": "Pa', 'length').message.tool_calls![0]!.function.arguments).toBe('{"city": "Pa');
    const req = msg('required', texts[4]!);
    expect(req.finishReason).toBe('tool_calls');
    expect(req.message.content).toBeNull();
    expect(req.message.tool_calls!.map((c) => [c.function.name, JSON.parse(c.function.arguments)])).toEqual([['get_weather', { city: 'Oslo' }], ['get_time', {}]]);
    expect(msg('required', texts[5]!, 'length')).toEqual({ message: { role: 'assistant', content: texts[5] }, finishReason: 'length' });
    const auto = msg('auto', texts[7]!);
    expect([auto.message.content, auto.finishReason, auto.message.tool_calls!.length]).toEqual(['Checking. ', 'tool_calls', 2]);
    expect(msg('auto', texts[6]!).message.content).toBeNull(); // blank text before the call
    expect(msg('auto', texts[9]!)).toEqual({ message: { role: 'assistant', content: texts[9] }, finishReason: 'stop' });
    const llama = msg('llama', texts[10]!);
    expect([llama.message.content, llama.finishReason, llama.message.tool_calls!.map((c) => c.function.name)]).toEqual([null, 'tool_calls', ['get_weather', 'get_time']]);
    expect(msg('llama', texts[11]!, 'length')).toEqual({ message: { role: 'assistant', content: texts[11] }, finishReason: 'length' }); // cut short: text
    expect(msg('llama', texts[12]!)).toEqual({ message: { role: 'assistant', content: texts[12] }, finishReason: 'stop' }); // a call only as the whole reply
    const mistral = msg('mistral', texts[13]!);
    expect([mistral.message.content, mistral.finishReason, mistral.message.tool_calls!.map((c) => [c.function.name, JSON.parse(c.function.arguments)])]).toEqual(['Checking.', 'tool_calls', [['get_weather', { city: 'Oslo' }]]]);
    expect(msg('mistral', texts[14]!).message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_0', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
      ],
    });
    expect(msg('mistral', texts[15]!)).toEqual({ message: { role: 'assistant', content: texts[15] }, finishReason: 'stop' });
    expect(msg('mistral', texts[7]!)).toEqual({ message: { role: 'assistant', content: texts[7] }, finishReason: 'stop' }); // Hermes blocks are text here
    // parallel_tool_calls false under auto: the first call the reply wrote, the text before it as content
    const single = msg('single', texts[7]!);
    expect([single.message.content, single.finishReason, single.message.tool_calls!.map((c) => c.function.name)]).toEqual(['Checking. ', 'tool_calls', ['get_time']]);
    expect(msg('auto', texts[7]!).message.tool_calls!.map((c) => c.function.name)).toEqual(['get_time', 'get_weather']);
  });

  it('auto holds back a piece that may start <tool_call>, and sends it once it does not', () => {
    const out = new ChoiceOutput(plans.auto!, counter());
    expect(out.push('Sure <tool')).toEqual({ content: 'Sure ' });
    expect(out.push('_c')).toBeNull();
    expect(out.push('at')).toEqual({ content: '<tool_cat' });
    const m = new ChoiceOutput(plans.mistral!, counter());
    expect(m.push('Sure [TOOL')).toEqual({ content: 'Sure ' });
    expect(m.push('_CALLS] [{"name": "get_time"}]')).toBeNull();
    expect(m.finish('stop')).toEqual({ delta: { tool_calls: [{ index: 0, id: 'call_0', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }, finishReason: 'tool_calls' });
  });
});

describe('plain chat prompt with tools', () => {
  it('tools after the system text; assistant calls and tool results as lines; no tools: as before', () => {
    const msgs = chatMessages([
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '3 C' },
    ]);
    expect(msgs[2]!.tool_calls![0]!.function.arguments).toEqual({ city: 'Oslo' }); // parsed for a template
    const p = plainChatPrompt(msgs, TOOLS);
    const lines = p.split('\n');
    expect(lines[0]).toBe('System: Be brief.');
    expect(p).toContain('\nget_weather(city: string, unit?: "c"|"f") — Weather in a city\nget_time()\nUser:');
    expect(lines.slice(-4)).toEqual(['User: Weather in Oslo?', 'Assistant: <tool_call>{"name":"get_weather","arguments":{"city":"Oslo"}}</tool_call>', 'Tool: 3 C', 'Assistant:']);
    expect(plainChatPrompt(chatMessages([{ role: 'user', content: 'Hi' }]), TOOLS).startsWith('System: Functions, called as <tool_call>')).toBe(true);
    expect(plainChatPrompt(chatMessages([{ role: 'system', content: 'S' }, { role: 'user', content: [{ type: 'text', text: 'Hi' }] }]))).toBe('System: S\nUser: Hi\nAssistant:');
  });
});
