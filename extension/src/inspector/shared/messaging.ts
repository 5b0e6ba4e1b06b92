// Request/reply over a one-way message channel (a webview's postMessage): every message is numbered, a reply names
// the request it answers with inReplyTo, and the requester's promise settles when that reply arrives. Pure and
// generic; protocol.ts says which requests exist and what each one's reply is.

/** A numbered message. */
export interface Envelope<Body> {
  readonly messageId: number;
  readonly inReplyTo?: undefined;
  readonly body: Body;
}

/** The answer to the request numbered inReplyTo: its reply, or why it failed. */
export type ReplyEnvelope<Reply> =
  | { readonly messageId: number; readonly inReplyTo: number; readonly body: Reply; readonly error?: undefined }
  | { readonly messageId: number; readonly inReplyTo: number; readonly body?: undefined; readonly error: string };

/** The shape of a request map: request type name -> request body and reply body. */
export type RequestMap = { [type: string]: { request: { readonly type: string }; reply: unknown } };

type RequestOf<M extends RequestMap> = M[keyof M]['request'];
type ReplyOf<M extends RequestMap, R extends RequestOf<M>> = M[R['type']]['reply'];

/** Thrown into a request's promise when the other side answered with an error. */
export class RequestFailedError extends Error {
  readonly code = 'REQUEST_FAILED';
  constructor(readonly requestType: string, message: string) {
    super(message);
    this.name = 'RequestFailedError';
  }
}

/**
 * The side that asks: numbers what it sends and settles each request's promise from the reply envelope that
 * names it. Notifications are numbered too but get no reply.
 */
export class Requester<M extends RequestMap, Notification extends { readonly type: string }> {
  private nextId = 1;
  private readonly pending = new Map<number, { type: string; resolve: (reply: unknown) => void; reject: (error: Error) => void }>();

  constructor(private readonly send: (envelope: Envelope<RequestOf<M> | Notification>) => void) {}

  request<R extends RequestOf<M>>(body: R): Promise<ReplyOf<M, R>> {
    const messageId = this.nextId++;
    return new Promise<ReplyOf<M, R>>((resolve, reject) => {
      this.pending.set(messageId, { type: body.type, resolve: resolve as (reply: unknown) => void, reject });
      this.send({ messageId, body });
    });
  }

  notify(body: Notification): void {
    this.send({ messageId: this.nextId++, body });
  }

  /** Settles the request a reply names; false if no request of that number is pending. */
  settle(reply: ReplyEnvelope<unknown>): boolean {
    const waiting = this.pending.get(reply.inReplyTo);
    if (!waiting) return false;
    this.pending.delete(reply.inReplyTo);
    if (reply.error !== undefined) waiting.reject(new RequestFailedError(waiting.type, reply.error));
    else waiting.resolve(reply.body);
    return true;
  }

  /** Requests still waiting for their reply (for tests). */
  get pendingCount(): number {
    return this.pending.size;
  }
}

/** The side that answers: numbers what it sends, pushes and replies alike. */
export class Responder<Push, Reply> {
  private nextId = 1;

  constructor(private readonly send: (envelope: Envelope<Push> | ReplyEnvelope<Reply>) => void) {}

  push(body: Push): void {
    this.send({ messageId: this.nextId++, body });
  }

  reply(inReplyTo: number, body: Reply): void {
    this.send({ messageId: this.nextId++, inReplyTo, body });
  }

  fail(inReplyTo: number, error: string): void {
    this.send({ messageId: this.nextId++, inReplyTo, error });
  }
}

/** One handler per request type, each returning that type's reply: the compiler checks that every request is answered. */
export type RequestHandlers<M extends RequestMap> = {
  [K in keyof M]: (request: M[K]['request']) => M[K]['reply'] | Promise<M[K]['reply']>;
};

/**
 * Runs the handler of a request and replies to its number, with the handler's result or, if it threw, with the
 * error's message (the requester's promise then rejects). The error is rethrown for the caller to log.
 */
export async function answerRequest<M extends RequestMap, Push>(
  handlers: RequestHandlers<M>,
  messageId: number,
  request: RequestOf<M>,
  responder: Responder<Push, M[keyof M]['reply']>,
): Promise<void> {
  // The map's key and the request's type are one and the same; TypeScript cannot correlate them by itself.
  const handler = handlers[request.type as keyof M] as (request: RequestOf<M>) => M[keyof M]['reply'] | Promise<M[keyof M]['reply']>;
  try {
    responder.reply(messageId, await handler(request));
  } catch (error) {
    responder.fail(messageId, error instanceof Error ? error.message : String(error));
    throw error;
  }
}
