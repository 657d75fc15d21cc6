import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppConfig } from '../config.js';
import type { Em, Orm } from '../db/orm.js';
import type { AppError } from '../errors.js';
import type { SignedInUser } from './auth.js';

export interface ContextInnerOptions {
  em: Em;
  config: AppConfig;
  /** Already authenticated user (tests); otherwise resolved from `authorization` on protected routes. */
  user?: SignedInUser | undefined;
  authorization?: string | undefined;
  idempotencyKey?: string | undefined;
  clientAddress?: string | undefined;
  requestId?: string | undefined;
  bodyError?: AppError | undefined;
  /** Set for a /trpc request: its calls run one after another, in the batch's order. */
  callsInOrder?: CallSequence | undefined;
}

export interface CallTurn {
  /** Settles once every earlier call of the request has finished. */
  ready: Promise<void>;
  /** This call has finished: the next may start. */
  done(): void;
}

export interface CallSequence {
  /** The next turn; taken when a call starts, so turns follow the order in which calls start. */
  take(): CallTurn;
}

/**
 * Contract §10: a batch (`?batch=1`) behaves exactly as its calls sent one by one. tRPC
 * starts them all at once, so `[addItem, checkout.submit]` could check out the cart
 * before the item was in it; in turn, each call sees what the earlier ones wrote.
 */
export function callSequence(): CallSequence {
  let tail = Promise.resolve();
  return {
    take() {
      const ready = tail;
      const finished = Promise.withResolvers<void>();
      tail = finished.promise;
      return { ready, done: () => finished.resolve() };
    },
  };
}

/**
 * The HTTP-free part of the context. Tests build it directly and call procedures
 * through `createCaller`; the HTTP layers wrap it in `createContext`. One context
 * may serve several calls (a tRPC batch, a reused caller): what is per call (the
 * database session, `responseHeaders`, the signed-in user) is derived per call in
 * src/trpc.ts and never written back here, except the headers the REST adapter reads.
 */
export function createContextInner(opts: ContextInnerOptions) {
  return {
    em: opts.em,
    config: opts.config,
    user: opts.user,
    authorization: opts.authorization,
    idempotencyKey: opts.idempotencyKey,
    clientAddress: opts.clientAddress ?? 'local',
    requestId: opts.requestId ?? 'local',
    bodyError: opts.bodyError,
    callsInOrder: opts.callsInOrder,
    /** Headers a procedure wants on its HTTP response (Location, Idempotent-Replayed). */
    responseHeaders: {} as Record<string, string>,
  };
}

export type Context = ReturnType<typeof createContextInner>;

/** What the HTTP layer stores on each request before the procedure runs. */
export interface RequestState {
  requestId: string;
  bodyError?: AppError;
}

/**
 * The request being served, for errors raised before a procedure context exists
 * (an unreadable /trpc body, an unknown procedure): they still carry its id.
 */
export const requestScope = new AsyncLocalStorage<{ requestId: string }>();

export function requestState(res: ServerResponse): RequestState {
  return (res as ServerResponse & { locals: RequestState }).locals;
}

/**
 * Builds the per-request context. Its EntityManager is a fresh fork, never the
 * global one, but it is only the source of sessions: every procedure call forks
 * it again (`sessionPerCall` in src/trpc.ts), because one request may carry a
 * batch of calls. Forking here as well costs a few microseconds and keeps
 * anything that runs before that middleware off the global EntityManager.
 */
export function createContextFactory(deps: { orm: Orm; config: AppConfig }) {
  return ({ req, res }: { req: IncomingMessage; res: ServerResponse }): Context => {
    const state = requestState(res);
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(',') : value;
    };
    return createContextInner({
      em: deps.orm.em.fork(),
      config: deps.config,
      authorization: header('authorization'),
      idempotencyKey: header('idempotency-key'),
      clientAddress: (req as IncomingMessage & { ip?: string }).ip ?? req.socket.remoteAddress,
      requestId: state.requestId,
      bodyError: state.bodyError,
    });
  };
}
