/**
 * Malformed inputs, by category (via fastify inject on the FakeService test double). Each case
 * asserts the HTTP status, the envelope's `code` and the field it names (`param`); afterwards
 * the server still answers. Limits here: bodyLimit 16 KiB, maxPromptTokens 100, max_tokens cap 1024.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/serve/index.js';
import { FakeService } from './fake-service.js';

const TOKEN = 'tok';
const BODY_LIMIT = 16 * 1024;
const MAX_PROMPT = 100;

interface Case {
  name: string;
  method?: 'GET' | 'POST' | 'DELETE';
  url?: string;
  /** an object is sent as JSON; a string is sent verbatim */
  body?: unknown;
  contentType?: string;
  status: number;
  code: string;
  param: string | null;
}

const C = '/v1/completions';
const CHAT = '/v1/chat/completions';
const EDITS = '/wise/edits';
const ok = { model: 'fake-base', prompt: 'hi', max_tokens: 2 };
const okChat = { model: 'fake-base', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 };
const okEdit = { prompt: 'The sky is', target: 'green' };
const big = 'x'.repeat(BODY_LIMIT + 100);
const long = 'y'.repeat(MAX_PROMPT + 1);

const brokenJson: Case[] = [
  { name: 'unclosed object', body: '{', status: 400, code: 'invalid_json', param: null },
  { name: 'missing value', body: '{"model":"fake-base","prompt":}', status: 400, code: 'invalid_json', param: null },
  { name: 'single quotes', body: "{'model':'fake-base','prompt':'hi'}", status: 400, code: 'invalid_json', param: null },
  { name: 'trailing comma', body: '{"model":"fake-base","prompt":"hi",}', status: 400, code: 'invalid_json', param: null },
  { name: 'extra closing brace', body: '{"model":"fake-base","prompt":"hi"}}', status: 400, code: 'invalid_json', param: null },
  { name: 'empty body', body: '', status: 400, code: 'invalid_json', param: null },
  { name: 'NaN literal', body: '{"model":"fake-base","prompt":"hi","temperature":NaN}', status: 400, code: 'invalid_json', param: null },
  { name: 'missing comma', body: '{"model":"fake-base" "prompt":"hi"}', status: 400, code: 'invalid_json', param: null },
  { name: '__proto__ key', body: '{"__proto__":{"x":1},"model":"fake-base","prompt":"hi"}', status: 400, code: 'invalid_json', param: null },
  { name: 'constructor.prototype key', body: '{"constructor":{"prototype":{"x":1}},"model":"fake-base","prompt":"hi"}', status: 400, code: 'invalid_json', param: null },
  { name: 'chat: truncated array', url: CHAT, body: '{"model":"fake-base","messages":[{"role":"user"', status: 400, code: 'invalid_json', param: null },
  { name: 'edit: truncated', url: EDITS, body: '{"prompt":"a","target":', status: 400, code: 'invalid_json', param: null },
  { name: 'text/plain body', body: 'hello', contentType: 'text/plain', status: 415, code: 'unsupported_media_type', param: null },
];

const wrongTypes: Case[] = [
  { name: 'max_tokens as string', body: { ...ok, max_tokens: '5' }, status: 400, code: 'invalid_type', param: 'max_tokens' },
  { name: 'temperature as string', body: { ...ok, temperature: '0.5' }, status: 400, code: 'invalid_type', param: 'temperature' },
  { name: 'top_p as boolean', body: { ...ok, top_p: true }, status: 400, code: 'invalid_type', param: 'top_p' },
  { name: 'stop as number', body: { ...ok, stop: 5 }, status: 400, code: 'invalid_type', param: 'stop' },
  { name: 'stop item as number', body: { ...ok, stop: ['a', 1] }, status: 400, code: 'invalid_type', param: 'stop[1]' },
  { name: 'seed not an integer', body: { ...ok, seed: 1.5 }, status: 400, code: 'invalid_type', param: 'seed' },
  { name: 'stream as string', body: { ...ok, stream: 'true' }, status: 400, code: 'invalid_type', param: 'stream' },
  { name: 'prompt as number', body: { ...ok, prompt: 5 }, status: 400, code: 'invalid_type', param: 'prompt' },
  { name: 'prompt mixing token ids and strings', body: { ...ok, prompt: [104, 'hi'] }, status: 400, code: 'invalid_type', param: 'prompt[0]' },
  { name: 'prompt item as boolean', body: { ...ok, prompt: [true] }, status: 400, code: 'invalid_type', param: 'prompt[0]' },
  { name: 'prompt token id as float', body: { ...ok, prompt: [104, 1.5] }, status: 400, code: 'invalid_type', param: 'prompt[1]' },
  { name: 'prompt token id as string inside an id array', body: { ...ok, prompt: [[104, '105']] }, status: 400, code: 'invalid_type', param: 'prompt[0][1]' },
  { name: 'model as number', body: { ...ok, model: 5 }, status: 400, code: 'invalid_type', param: 'model' },
  { name: 'n as string', body: { ...ok, n: '1' }, status: 400, code: 'invalid_type', param: 'n' },
  { name: 'stream_options.include_usage as string', body: { ...ok, stream_options: { include_usage: 'yes' } }, status: 400, code: 'invalid_type', param: 'stream_options.include_usage' },
  { name: 'body is an array', body: [ok], status: 400, code: 'invalid_type', param: null },
  { name: 'chat: messages as string', url: CHAT, body: { ...okChat, messages: 'hi' }, status: 400, code: 'invalid_type', param: 'messages' },
  { name: 'chat: content as number', url: CHAT, body: { ...okChat, messages: [{ role: 'user', content: 5 }] }, status: 400, code: 'invalid_type', param: 'messages[0].content' },
  { name: 'chat: role as number', url: CHAT, body: { ...okChat, messages: [{ role: 1, content: 'hi' }] }, status: 400, code: 'invalid_type', param: 'messages[0].role' },
  { name: 'edit: target as array', url: EDITS, body: { ...okEdit, target: ['green'] }, status: 400, code: 'invalid_type', param: 'target' },
  { name: 'edit: subject as number', url: EDITS, body: { ...okEdit, subject: 1 }, status: 400, code: 'invalid_type', param: 'subject' },
];

const outOfRange: Case[] = [
  { name: 'max_tokens 0', body: { ...ok, max_tokens: 0 }, status: 400, code: 'invalid_value', param: 'max_tokens' },
  { name: 'max_tokens -1', body: { ...ok, max_tokens: -1 }, status: 400, code: 'invalid_value', param: 'max_tokens' },
  { name: 'max_tokens above the cap', body: { ...ok, max_tokens: 1025 }, status: 400, code: 'invalid_value', param: 'max_tokens' },
  { name: 'max_tokens 1e9', body: { ...ok, max_tokens: 1e9 }, status: 400, code: 'invalid_value', param: 'max_tokens' },
  { name: 'temperature -0.1', body: { ...ok, temperature: -0.1 }, status: 400, code: 'invalid_value', param: 'temperature' },
  { name: 'temperature 2.01', body: { ...ok, temperature: 2.01 }, status: 400, code: 'invalid_value', param: 'temperature' },
  { name: 'top_p 0', body: { ...ok, top_p: 0 }, status: 400, code: 'invalid_value', param: 'top_p' },
  { name: 'top_p 1.5', body: { ...ok, top_p: 1.5 }, status: 400, code: 'invalid_value', param: 'top_p' },
  { name: 'top_p -1', body: { ...ok, top_p: -1 }, status: 400, code: 'invalid_value', param: 'top_p' },
  { name: 'seed -1', body: { ...ok, seed: -1 }, status: 400, code: 'invalid_value', param: 'seed' },
  { name: 'seed 2^60', body: '{"model":"fake-base","prompt":"hi","seed":1152921504606846976}', status: 400, code: 'invalid_value', param: 'seed' },
  { name: 'n 0', body: { ...ok, n: 0 }, status: 400, code: 'invalid_value', param: 'n' },
  { name: 'n 65', body: { ...ok, n: 65 }, status: 400, code: 'invalid_value', param: 'n' },
  { name: '2 prompts × n 33 (66 choices)', body: { ...ok, prompt: ['a', 'b'], n: 33 }, status: 400, code: 'invalid_value', param: 'n' },
  { name: 'chat: n 65', url: CHAT, body: { ...okChat, n: 65 }, status: 400, code: 'invalid_value', param: 'n' },
  { name: 'negative token id', body: { ...ok, prompt: [104, -1] }, status: 400, code: 'invalid_value', param: 'prompt[1]' },
  { name: 'token id outside the vocabulary', body: { ...ok, prompt: [104, 0x110000] }, status: 400, code: 'invalid_value', param: 'prompt[1]' },
  { name: 'token id outside the vocabulary, second prompt', body: { ...ok, prompt: [[104], [105, 0x110000]] }, status: 400, code: 'invalid_value', param: 'prompt[1][1]' },
  { name: 'empty token-id prompt', body: { ...ok, prompt: [[104], []] }, status: 400, code: 'invalid_value', param: 'prompt[1]' },
  { name: 'empty string among prompts', body: { ...ok, prompt: ['hi', ''] }, status: 400, code: 'invalid_value', param: 'prompt[1]' },
  { name: 'empty prompt list', body: { ...ok, prompt: [] }, status: 400, code: 'invalid_value', param: 'prompt' },
  { name: '65 prompts', body: { ...ok, prompt: Array.from({ length: 65 }, () => 'hi') }, status: 400, code: 'invalid_value', param: 'prompt' },
  { name: 'five stop strings', body: { ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, status: 400, code: 'invalid_value', param: 'stop' },
  { name: 'chat: max_completion_tokens 0', url: CHAT, body: { ...okChat, max_completion_tokens: 0 }, status: 400, code: 'invalid_value', param: 'max_completion_tokens' },
  { name: 'chat: temperature 3', url: CHAT, body: { ...okChat, temperature: 3 }, status: 400, code: 'invalid_value', param: 'temperature' },
  { name: 'top_k -2', body: { ...ok, top_k: -2 }, status: 400, code: 'invalid_value', param: 'top_k' },
  { name: 'top_k 1.5', body: { ...ok, top_k: 1.5 }, status: 400, code: 'invalid_type', param: 'top_k' },
  { name: 'min_p 1.5', body: { ...ok, min_p: 1.5 }, status: 400, code: 'invalid_value', param: 'min_p' },
  { name: 'frequency_penalty 2.5', body: { ...ok, frequency_penalty: 2.5 }, status: 400, code: 'invalid_value', param: 'frequency_penalty' },
  { name: 'chat: presence_penalty -3', url: CHAT, body: { ...okChat, presence_penalty: -3 }, status: 400, code: 'invalid_value', param: 'presence_penalty' },
  { name: 'repetition_penalty 0', body: { ...ok, repetition_penalty: 0 }, status: 400, code: 'invalid_value', param: 'repetition_penalty' },
  { name: 'logit_bias as array', body: { ...ok, logit_bias: [[5, 1]] }, status: 400, code: 'invalid_type', param: 'logit_bias' },
  { name: 'logit_bias 101', body: { ...ok, logit_bias: { '5': 101 } }, status: 400, code: 'invalid_value', param: 'logit_bias[5]' },
  { name: 'logit_bias value as string', body: { ...ok, logit_bias: { '5': '-100' } }, status: 400, code: 'invalid_type', param: 'logit_bias[5]' },
  { name: 'logit_bias key not a token id', body: { ...ok, logit_bias: { abc: 1 } }, status: 400, code: 'invalid_value', param: 'logit_bias' },
  { name: 'logit_bias key with a leading zero', body: { ...ok, logit_bias: { '05': 1 } }, status: 400, code: 'invalid_value', param: 'logit_bias' },
  { name: 'stop_token_ids item -1', body: { ...ok, stop_token_ids: [-1] }, status: 400, code: 'invalid_value', param: 'stop_token_ids[0]' },
  { name: 'stop_token_ids item as string', body: { ...ok, stop_token_ids: [5, '6'] }, status: 400, code: 'invalid_type', param: 'stop_token_ids[1]' },
  { name: 'stop_token_ids outside the vocabulary', body: { ...ok, stop_token_ids: [5, 0x110000] }, status: 400, code: 'invalid_value', param: 'stop_token_ids[1]' },
  { name: 'ignore_eos as string', body: { ...ok, ignore_eos: 'yes' }, status: 400, code: 'invalid_type', param: 'ignore_eos' },
  { name: 'min_tokens -1', body: { ...ok, min_tokens: -1 }, status: 400, code: 'invalid_value', param: 'min_tokens' },
  { name: 'min_tokens above max_tokens', body: { ...ok, min_tokens: 3 }, status: 400, code: 'invalid_value', param: 'min_tokens' },
  { name: 'chat: response_format type xml', url: CHAT, body: { ...okChat, response_format: { type: 'xml' } }, status: 400, code: 'invalid_value', param: 'response_format.type' },
  { name: 'chat: response_format as string', url: CHAT, body: { ...okChat, response_format: 'json' }, status: 400, code: 'invalid_value', param: 'response_format' },
  { name: 'chat: response_format json_schema without json_schema', url: CHAT, body: { ...okChat, response_format: { type: 'json_schema' } }, status: 400, code: 'invalid_value', param: 'response_format.json_schema' },
  { name: 'chat: response_format json_schema without a name', url: CHAT, body: { ...okChat, response_format: { type: 'json_schema', json_schema: { schema: {} } } }, status: 400, code: 'invalid_value', param: 'response_format.json_schema.name' },
  { name: 'chat: response_format schema with a lookahead pattern', url: CHAT, body: { ...okChat, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: '(?!a)' } } } }, status: 400, code: 'invalid_value', param: 'response_format.json_schema.schema' },
  { name: 'vLLM guided_json with an unknown type', body: { ...ok, guided_json: { type: 'object', properties: { a: { type: 'date' } } } }, status: 400, code: 'invalid_value', param: 'guided_json' },
  { name: 'vLLM guided_json not JSON', body: { ...ok, guided_json: '{type: object}' }, status: 400, code: 'invalid_value', param: 'guided_json' },
  { name: 'vLLM guided_choice empty', body: { ...ok, guided_choice: [] }, status: 400, code: 'invalid_value', param: 'guided_choice' },
  { name: 'vLLM guided_choice and guided_json together', body: { ...ok, guided_json: { type: 'string' }, guided_choice: ['a'] }, status: 400, code: 'invalid_value', param: 'guided_choice' },
  { name: 'llama.cpp json_schema with $ref', body: { ...ok, json_schema: { $ref: '#/defs/a' } }, status: 400, code: 'invalid_value', param: 'json_schema' },
  { name: 'vLLM guided_regex with a backreference', body: { ...ok, guided_regex: '(a)\\1' }, status: 400, code: 'invalid_value', param: 'guided_regex' },
  { name: 'vLLM guided_regex as number', body: { ...ok, guided_regex: 5 }, status: 400, code: 'invalid_value', param: 'guided_regex' },
  { name: 'vLLM guided_grammar left-recursive', body: { ...ok, guided_grammar: 'root ::= root "a" | "a"' }, status: 400, code: 'invalid_value', param: 'guided_grammar' },
  { name: 'llama.cpp grammar with an undefined rule', body: { ...ok, grammar: 'root ::= digit+' }, status: 400, code: 'invalid_value', param: 'grammar' },
  { name: 'llama.cpp grammar as number', body: { ...ok, grammar: 5 }, status: 400, code: 'invalid_value', param: 'grammar' },
  { name: 'grammar and guided_regex together', body: { ...ok, grammar: 'root ::= "a"', guided_regex: 'a' }, status: 400, code: 'invalid_value', param: 'grammar' },
  { name: 'completions: tools', body: { ...ok, tools: [{ type: 'function', function: { name: 'f' } }] }, status: 400, code: 'unsupported_field', param: 'tools' },
  { name: 'chat: tool_choice without tools', url: CHAT, body: { ...okChat, tool_choice: 'required' }, status: 400, code: 'invalid_value', param: 'tool_choice' },
  { name: 'chat: a tool without a name', url: CHAT, body: { ...okChat, tools: [{ type: 'function', function: { description: 'x' } }] }, status: 400, code: 'invalid_value', param: 'tools[0].function.name' },
  { name: 'chat: a tool name twice', url: CHAT, body: { ...okChat, tools: [{ type: 'function', function: { name: 'f' } }, { type: 'function', function: { name: 'f' } }] }, status: 400, code: 'invalid_value', param: 'tools[1].function.name' },
  { name: 'chat: tool_choice names an undeclared function', url: CHAT, body: { ...okChat, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }, status: 400, code: 'invalid_value', param: 'tool_choice.function.name' },
  { name: 'chat: a parameters schema outside the subset', url: CHAT, body: { ...okChat, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', patternProperties: {} } } } } }], tool_choice: 'required' }, status: 400, code: 'invalid_value', param: 'tools[0].function.parameters' },
  { name: 'chat: a named tool with response_format', url: CHAT, body: { ...okChat, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'f' } }, response_format: { type: 'json_object' } }, status: 400, code: 'invalid_value', param: 'response_format' },
  { name: 'chat: functions (the deprecated form)', url: CHAT, body: { ...okChat, functions: [{ name: 'f' }] }, status: 400, code: 'unsupported_field', param: 'functions' },
  { name: 'chat: a tool message without tool_call_id', url: CHAT, body: { ...okChat, messages: [{ role: 'user', content: 'hi' }, { role: 'tool', content: '42' }] }, status: 400, code: 'missing_field', param: 'messages[1].tool_call_id' },
  { name: 'chat: a user message without content', url: CHAT, body: { ...okChat, messages: [{ role: 'user', content: null }] }, status: 400, code: 'missing_field', param: 'messages[0].content' },
  { name: 'chat: tool calls on a user message', url: CHAT, body: { ...okChat, messages: [{ role: 'user', content: 'hi', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }] }, status: 400, code: 'invalid_value', param: 'messages[0].tool_calls' },
  { name: 'suffix', body: { ...ok, suffix: 'end' }, status: 400, code: 'unsupported_field', param: 'suffix' },
  { name: 'best_of 2', body: { ...ok, best_of: 2 }, status: 400, code: 'unsupported_field', param: 'best_of' },
  { name: 'chat: logit_bias key outside the vocabulary', url: CHAT, body: { ...okChat, logit_bias: { '1114112': -100 } }, status: 400, code: 'invalid_value', param: 'logit_bias' },
];

const unknownModel: Case[] = [
  ...['gpt-4', '', 'fake-base+edits@1', 'fake-base+edits@', 'FAKE-BASE', 'fake-base ', ' fake-base', 'fake-base+edits@00', 'fake-base+edits@-1'].map(
    (model): Case => ({ name: `model ${JSON.stringify(model)}`, body: { ...ok, model }, status: 404, code: 'model_not_found', param: 'model' }),
  ),
  { name: 'chat: gpt-4o', url: CHAT, body: { ...okChat, model: 'gpt-4o' }, status: 404, code: 'model_not_found', param: 'model' },
  { name: 'GET /v1/models/gpt-4', method: 'GET', url: '/v1/models/gpt-4', status: 404, code: 'model_not_found', param: 'model' },
  { name: 'model missing', body: { prompt: 'hi' }, status: 400, code: 'missing_field', param: 'model' },
];

const oversizedBody: Case[] = [
  { name: 'completion prompt', body: { ...ok, prompt: big }, status: 413, code: 'body_too_large', param: null },
  { name: 'streamed completion', body: { ...ok, prompt: big, stream: true }, status: 413, code: 'body_too_large', param: null },
  { name: 'chat message', url: CHAT, body: { ...okChat, messages: [{ role: 'user', content: big }] }, status: 413, code: 'body_too_large', param: null },
  { name: 'many chat messages', url: CHAT, body: { ...okChat, messages: Array.from({ length: 400 }, () => ({ role: 'user', content: 'x'.repeat(50) })) }, status: 413, code: 'body_too_large', param: null },
  { name: 'edit prompt', url: EDITS, body: { ...okEdit, prompt: big }, status: 413, code: 'body_too_large', param: null },
  { name: 'edit with wait=true', url: `${EDITS}?wait=true`, body: { ...okEdit, target: big }, status: 413, code: 'body_too_large', param: null },
  { name: 'invalid JSON that is also too large', body: `{${big}`, status: 413, code: 'body_too_large', param: null },
  { name: 'unknown model with a large body', body: { ...ok, model: 'gpt-4', prompt: big }, status: 413, code: 'body_too_large', param: null },
  { name: 'multi-byte characters (bytes count, not chars)', body: { ...ok, prompt: '😀'.repeat(BODY_LIMIT / 4 + 10) }, status: 413, code: 'body_too_large', param: null },
];

const oversizedPrompt: Case[] = [
  { name: 'completion prompt', body: { ...ok, prompt: long }, status: 400, code: 'context_length_exceeded', param: 'prompt' },
  { name: 'prompt as a one-string array', body: { ...ok, prompt: [long] }, status: 400, code: 'context_length_exceeded', param: 'prompt' },
  { name: 'prompt as token ids', body: { ...ok, prompt: Array.from({ length: MAX_PROMPT + 1 }, () => 121) }, status: 400, code: 'context_length_exceeded', param: 'prompt' },
  { name: 'the second of two prompts', body: { ...ok, prompt: ['hi', long] }, status: 400, code: 'context_length_exceeded', param: 'prompt[1]' },
  { name: 'the second of two token-id prompts', body: { ...ok, prompt: [[104], Array.from({ length: MAX_PROMPT + 1 }, () => 121)] }, status: 400, code: 'context_length_exceeded', param: 'prompt[1]' },
  { name: 'streamed completion (400 before any SSE)', body: { ...ok, prompt: long, stream: true }, status: 400, code: 'context_length_exceeded', param: 'prompt' },
  { name: 'emoji prompt (tokens, not bytes)', body: { ...ok, prompt: '😀'.repeat(MAX_PROMPT + 1) }, status: 400, code: 'context_length_exceeded', param: 'prompt' },
  { name: 'chat: one long user message', url: CHAT, body: { ...okChat, messages: [{ role: 'user', content: long }] }, status: 400, code: 'context_length_exceeded', param: 'messages' },
  { name: 'chat: long system message', url: CHAT, body: { ...okChat, messages: [{ role: 'system', content: long }, { role: 'user', content: 'hi' }] }, status: 400, code: 'context_length_exceeded', param: 'messages' },
  { name: 'chat: many short messages', url: CHAT, body: { ...okChat, messages: Array.from({ length: 12 }, () => ({ role: 'user', content: 'hello' })) }, status: 400, code: 'context_length_exceeded', param: 'messages' },
  { name: 'chat: streamed', url: CHAT, body: { ...okChat, stream: true, messages: [{ role: 'user', content: long }] }, status: 400, code: 'context_length_exceeded', param: 'messages' },
  { name: 'chat: text parts', url: CHAT, body: { ...okChat, messages: [{ role: 'user', content: [{ type: 'text', text: long }] }] }, status: 400, code: 'context_length_exceeded', param: 'messages' },
  { name: 'edit prompt', url: EDITS, body: { ...okEdit, prompt: long }, status: 400, code: 'context_length_exceeded', param: 'prompt' },
  { name: 'edit target', url: EDITS, body: { ...okEdit, target: long }, status: 400, code: 'context_length_exceeded', param: 'target' },
];

const emptyTarget: Case[] = [
  ...['', ' ', '\n\t', ' \r\n ', '\u00a0', '\u3000', '\ufeff'].map(
    (target): Case => ({ name: `target ${JSON.stringify(target)}`, url: EDITS, body: { ...okEdit, target }, status: 400, code: 'invalid_value', param: 'target' }),
  ),
  { name: 'target "" with wait=true', url: `${EDITS}?wait=true`, body: { ...okEdit, target: '' }, status: 400, code: 'invalid_value', param: 'target' },
  { name: 'target missing', url: EDITS, body: { prompt: 'The sky is' }, status: 400, code: 'missing_field', param: 'target' },
  { name: 'target null', url: EDITS, body: { ...okEdit, target: null }, status: 400, code: 'invalid_type', param: 'target' },
  { name: 'prompt blank (the other required field)', url: EDITS, body: { ...okEdit, prompt: '  ' }, status: 400, code: 'invalid_value', param: 'prompt' },
];

const badEditIds: Case[] = [
  ...['abc', '-1', '1.5', '1e3', '0x10', '01', '%20', '99999999999999999999', '1;DROP'].map(
    (id): Case => ({ name: `DELETE /wise/edits/${id}`, method: 'DELETE', url: `${EDITS}/${id}`, status: 400, code: 'invalid_id', param: 'id' }),
  ),
  { name: 'GET /wise/edits/abc', method: 'GET', url: `${EDITS}/abc`, status: 400, code: 'invalid_id', param: 'id' },
  { name: 'DELETE an id that does not exist', method: 'DELETE', url: `${EDITS}/999`, status: 404, code: 'not_found', param: 'id' },
  { name: 'GET an id that does not exist', method: 'GET', url: `${EDITS}/7`, status: 404, code: 'not_found', param: 'id' },
  { name: 'GET an unknown job', method: 'GET', url: '/wise/jobs/job-999', status: 404, code: 'not_found', param: 'id' },
  { name: 'GET a malformed job id', method: 'GET', url: '/wise/jobs/..%2F..', status: 404, code: 'not_found', param: 'id' },
];

const misc: Case[] = [
  { name: 'edit: unknown field', url: EDITS, body: { ...okEdit, promt: 'x' }, status: 400, code: 'unknown_field', param: 'promt' },
  { name: 'edit: wait=yes', url: `${EDITS}?wait=yes`, body: okEdit, status: 400, code: 'invalid_value', param: 'wait' },
  { name: 'edit: locality_answer without locality_prompt', url: EDITS, body: { ...okEdit, locality_answer: 'x' }, status: 400, code: 'invalid_value', param: 'locality_prompt' },
  { name: 'chat: empty messages', url: CHAT, body: { ...okChat, messages: [] }, status: 400, code: 'invalid_value', param: 'messages' },
  { name: 'chat: role function (not taken)', url: CHAT, body: { ...okChat, messages: [{ role: 'function', content: 'x' }] }, status: 400, code: 'invalid_value', param: 'messages[0].role' },
  { name: 'empty prompt', body: { ...ok, prompt: '' }, status: 400, code: 'invalid_value', param: 'prompt' },
  { name: 'unknown route', method: 'GET', url: '/v1/embeddings', status: 404, code: 'not_found', param: null },
];

export const CATEGORIES: Record<string, Case[]> = {
  'broken JSON': brokenJson,
  'wrong types': wrongTypes,
  'out-of-range numbers': outOfRange,
  'unknown model': unknownModel,
  'oversized body': oversizedBody,
  'oversized prompt': oversizedPrompt,
  'empty target': emptyTarget,
  'bad edit ids': badEditIds,
  'other (not a required category)': misc,
};

describe('malformed inputs', () => {
  let app: FastifyInstance;
  let service: FakeService;

  beforeAll(async () => {
    service = new FakeService({ tickMs: 0, editDelayMs: 0 });
    app = buildServer({ service, token: TOKEN, bodyLimit: BODY_LIMIT, maxPromptTokens: MAX_PROMPT });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  for (const [category, cases] of Object.entries(CATEGORIES)) {
    describe(category, () => {
      if (!category.startsWith('other')) it('has at least 8 cases', () => expect(cases.length).toBeGreaterThanOrEqual(8));
      for (const c of cases) {
        it(c.name, async () => {
          const url = c.url ?? C;
          const method = c.method ?? 'POST';
          const headers: Record<string, string> = url.startsWith('/wise') ? { authorization: `Bearer ${TOKEN}` } : {};
          if (method === 'POST') headers['content-type'] = c.contentType ?? 'application/json';
          const payload = c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
          const r = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
          const body = r.json() as { error: { code: string; param: string | null; type: string; message: string } };
          expect({ status: r.statusCode, code: body.error.code, param: body.error.param }).toEqual({ status: c.status, code: c.code, param: c.param });
          expect(typeof body.error.message).toBe('string');
          expect(body.error.type).toBe(c.status >= 500 ? 'server_error' : 'invalid_request_error');
        });
      }
    });
  }

  it('accepts a prompt of exactly maxPromptTokens, its special prefix (BOS) included', async () => {
    const room = MAX_PROMPT - service.prefixIds.length;
    expect((await app.inject({ method: 'POST', url: C, payload: { ...ok, prompt: 'z'.repeat(room) } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: C, payload: { ...ok, prompt: 'z'.repeat(room + 1) } })).statusCode).toBe(400);
  });

  it('accepts the refused fields with values that ask for nothing, and fields it ignores', async () => {
    const nothing = { response_format: { type: 'text' }, tools: [], tool_choice: 'none', functions: null, suffix: '', best_of: 1, grammar: null, user: 'u', metadata: { a: 1 } };
    expect((await app.inject({ method: 'POST', url: C, payload: { ...ok, ...nothing } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: CHAT, payload: { ...okChat, ...nothing } })).statusCode).toBe(200);
  });

  it('queued no edit for any rejected edit request, and 409s a second revert', async () => {
    expect(service.editSeq()).toBe(0);
    expect((await service.listEdits()).length).toBe(0);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const applied = await app.inject({ method: 'POST', url: `${EDITS}?wait=1`, headers: auth, payload: okEdit });
    expect(applied.statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `${EDITS}/1`, headers: auth })).statusCode).toBe(200);
    const again = await app.inject({ method: 'DELETE', url: `${EDITS}/1`, headers: auth });
    expect([again.statusCode, again.json().error.code, again.json().error.param]).toEqual([409, 'already_reverted', 'id']);
  });

  it('still answers afterwards', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const r = await app.inject({ method: 'POST', url: C, payload: { ...ok, temperature: 0 } }); // greedy: without a seed, sampling draws one
    expect(r.statusCode).toBe(200);
    expect(r.json().choices[0].text).toBe(' t');
    const chat = await app.inject({ method: 'POST', url: CHAT, payload: okChat });
    expect(chat.statusCode).toBe(200);
  });
});
