/**
 * The plumbing every generating route shares: an AbortController that fires when the client goes away (or the
 * server closes: ServeContext.active), and a server-sent-event stream that opens with its first event, so that an
 * error raised before any event (a prompt longer than the context) is still an ordinary HTTP error response.
 */
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { ApiError, toApiError } from './errors.js';
import type { ServeContext } from './context.js';

export const abortedError = (): ApiError => new ApiError(503, 'aborted', 'the generation was aborted (the client went away or the server is closing)');

/** An abort signal for the request's generation; call `release` when the response is done. */
export function requestAbort(ctx: ServeContext, reply: FastifyReply): { ac: AbortController; release: () => void } {
  const ac = new AbortController();
  const raw = reply.raw;
  const onClose = (): void => {
    if (!raw.writableFinished) ac.abort();
  };
  raw.on('close', onClose);
  ctx.active.add(ac);
  return {
    ac,
    release: () => {
      ctx.active.delete(ac);
      raw.off('close', onClose);
    },
  };
}

/** Server-sent events on the reply, opened (200, text/event-stream) by the first; `onOpen` runs once, right after. */
export class EventStream {
  private started = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly onOpen?: (s: EventStream) => void,
  ) {}

  get open(): boolean {
    return this.started;
  }

  /** One event: `data: {json}`, after `event: name` when named (OpenAI's Responses stream names every event). */
  send(obj: unknown, event?: string): void {
    const raw = this.reply.raw;
    if (!this.started) {
      this.started = true;
      this.reply.hijack();
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      this.onOpen?.(this);
    }
    if (!raw.destroyed && !raw.writableEnded) raw.write(`${event === undefined ? '' : `event: ${event}\n`}data: ${JSON.stringify(obj)}\n\n`);
  }

  /** Ends the stream, writing `tail` last (OpenAI's `data: [DONE]`; llama.cpp's native stream has none). */
  end(tail = ''): void {
    const raw = this.reply.raw;
    if (!raw.destroyed && !raw.writableEnded) raw.end(tail);
  }
}

/**
 * An error of a streaming generation: before the stream's first event it is thrown on (an ordinary HTTP error
 * response; 503 `aborted` when the client went away), after it the stream carries it (`send`, in the route's own
 * event form) unless the client is gone.
 */
export function streamFailure(e: unknown, stream: EventStream, signal: AbortSignal, log: FastifyBaseLogger, send: (err: ApiError) => void): void {
  if (!stream.open) {
    if (signal.aborted) throw abortedError();
    throw e;
  }
  if (!signal.aborted) {
    log.error({ err: e }, 'stream failed');
    send(toApiError(e));
  }
}
