/**
 * vLLM's chat rendering fields on /v1/chat/completions and /tokenize:
 *
 *   add_generation_prompt   boolean, default true: the template's opening of the assistant's turn after the messages
 *   continue_final_message  boolean, default false: the prompt ends inside the final message, which the model goes on
 *                           writing (prefill); not with add_generation_prompt true (absent, it is taken as false)
 *   chat_template_kwargs    object: more variables for the template (Qwen3's enable_thinking, say); the names the
 *                           renderer takes itself are refused, naming the key
 *
 * A per-request `chat_template` is refused (routes-openai.ts): vLLM takes one only with --trust-request-chat-template.
 * continue_final_message cuts the rendered text after the final message's (trimmed) text, as transformers'
 * apply_chat_template(continue_final_message=True) does. Pure.
 */
import type { ChatMessage } from './chat-messages.js';
import { badValue } from './errors.js';
import { isObject } from '../util/is-object.js';

export interface ChatRender {
  addGenerationPrompt: boolean;
  continueFinal: boolean;
  /** variables for the template beside messages, tools and the special tokens */
  kwargs: Record<string, unknown>;
}

export const DEFAULT_RENDER: ChatRender = { addGenerationPrompt: true, continueFinal: false, kwargs: {} };

/** Names the template renderer (transformers' apply_chat_template) takes itself: not template variables. */
const RESERVED = ['messages', 'tools', 'documents', 'add_generation_prompt', 'chat_template', 'tokenize', 'padding', 'truncation', 'max_length', 'return_tensor', 'return_dict', 'tokenizer_kwargs', 'continue_final_message'];

/** The body's rendering fields (schema-checked types), validated together; 400 naming the field. */
export function chatRender(body: Record<string, unknown>): ChatRender {
  const cont = body.continue_final_message === true;
  if (cont && body.add_generation_prompt === true) throw badValue('continue_final_message', 'not with add_generation_prompt true: the prompt either opens a new assistant turn or continues the final message (vLLM refuses both)');
  const kwargs = body.chat_template_kwargs ?? {};
  if (!isObject(kwargs)) throw badValue('chat_template_kwargs', 'expected an object of template variables');
  for (const k of Object.keys(kwargs)) {
    if (RESERVED.includes(k)) throw badValue(`chat_template_kwargs.${k}`, `"${k}" is set by the request itself (messages, tools, add_generation_prompt, continue_final_message), not a template variable`);
  }
  return { addGenerationPrompt: cont ? false : body.add_generation_prompt !== false, continueFinal: cont, kwargs };
}

/** The rendered prompt cut after the final message's trimmed text, so that generation continues it; 400 when it is not there. */
export function continueFinal(rendered: string, messages: readonly ChatMessage[]): string {
  const last = messages.at(-1)?.content.trim() ?? '';
  if (last === '') throw badValue('messages', 'continue_final_message needs a final message with text to continue');
  const at = rendered.lastIndexOf(last);
  if (at < 0) throw badValue('messages', 'continue_final_message: the final message does not appear in the rendered chat (the template changes or drops it)');
  return rendered.slice(0, at + last.length);
}
