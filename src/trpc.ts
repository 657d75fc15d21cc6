import { getTRPCErrorFromUnknown, initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { requestScope, type Context } from './context/context.js';
import { authenticate, tokenCaller, type SignedInUser, type TokenCaller } from './context/auth.js';
import { toAppError, toTrpcError } from './error-mapping.js';
import { errorDetails, type ApiErrorShape } from './error-shape.js';
import { forbidden, validationError, type AppErrorCode } from './errors.js';
import { illFormedInput } from './lib/input-text.js';

export interface ProcedureMeta extends OpenApiMeta {
  /** REST success status when it is not 200 (201 for creations, 204 for deletions). */
  successStatus?: 201 | 204;
  /** Who may call the procedure; set by the builders below, read by the OpenAPI document. */
  access?: 'public' | 'user' | 'admin';
  /**
   * The contract errors this procedure answers with besides those its serving
   * implies (auth, validation, 404 for a path id, 413/415 for a body, 500/503),
   * which the OpenAPI document derives by itself.
   */
  errors?: AppErrorCode[];
}

/**
 * The most calls one `/trpc` batch may hold (contract §10). Every call takes a
 * pooled connection for a moment, so an unbounded batch (1,300 `cart.clear`)
 * queues every other client behind it; 50 is far above what a page batches in
 * one tick. Larger batches are rejected by tRPC before any call runs.
 */
export const MAX_BATCH_CALLS = 50;

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    errorFormatter({ shape, error, ctx }): ApiErrorShape {
      const appError = toAppError(error);
      // Drop tRPC's `stack` and keep only what the contract promises (§2 over tRPC).
      const { stack: _stack, ...data } = shape.data;
      return {
        ...shape,
        message: appError.message,
        data: {
          ...data,
          httpStatus: appError.status,
          ...errorDetails(appError),
          requestId: ctx?.requestId ?? requestScope.getStore()?.requestId,
        },
      };
    },
  });

/**
 * Who may call: nobody is resolved for public procedures (a user already in the context
 * stays, as tests and `createCaller` pass one). Only HS256 tokens of users that still
 * exist pass (`authenticate`); admin procedures also demand the role, read now.
 */
const anyCaller = (ctx: Context): Promise<SignedInUser | undefined> => Promise.resolve(ctx.user);
async function adminCaller(ctx: Context): Promise<SignedInUser> {
  const user = await authenticate(ctx);
  if (user.role !== 'admin') throw forbidden();
  return user;
}

/**
 * The steps every procedure call takes before its input is parsed, in the contract's
 * order of checks, as ONE middleware per builder: tRPC copies its options object twice
 * per middleware level (and the context once more when a level adds to it), which was
 * ~6 % of the server's CPU on `GET /api/cart` with five levels.
 *
 * 1. One database session per call, and over /trpc one call at a time, in the batch's
 *    order (`callSequence`). tRPC builds the context once per HTTP request, and starts
 *    the calls of a batch (`?batch=1`) together on it; `createCaller`
 *    reuses one context too. Calls sharing one EntityManager share its identity map
 *    and unit of work: one call's failed flush is retried by the next call's flush,
 *    and a `[signup new, signup taken]` batch hung on PostgreSQL and lost the new user
 *    on PGlite. Forking here, not only in the context factories, covers every way a
 *    procedure is reached. `responseHeaders` is per call for the same reason; what a
 *    call sets is copied to the request's context afterwards, where the REST adapter
 *    (one call per request) reads it. The user is per call as well.
 * 2. The caller (401, then 403 for admin procedures).
 * 3. Body problems (415/413/malformed JSON), detected by the HTTP layer but reported
 *    only after authentication, as the contract's order of checks demands.
 * 4. Text the database cannot store as sent (U+0000, lone surrogates, in values or
 *    keys) and input nested too deeply, refused for every procedure and both surfaces
 *    (REST merges body, query and path values into the raw input), before the schemas.
 *
 * Errors, from these steps and from everything after them (schemas, resolver), leave
 * as TRPCErrors whose code gives the contract's status on both surfaces.
 */
const callSteps = <Caller extends TokenCaller | undefined>(
  callerOf: (ctx: Context) => Promise<Caller>,
  /** For callers whose user row the resolver reads itself (tokenProcedure): read it when the call fails. */
  confirmUser?: (ctx: Context) => Promise<unknown>,
) =>
  t.middleware(async ({ ctx, next, getRawInput }) => {
    // Taken before any await: tRPC starts a batch's calls in their order, so the turns follow it.
    const turn = ctx.callsInOrder?.take();
    const responseHeaders: Record<string, string> = {};
    const em = ctx.em.fork();
    const callCtx = { ...ctx, em };
    try {
      if (turn) await turn.ready;
      const user = await callerOf(callCtx);
      try {
        if (ctx.bodyError) throw ctx.bodyError;
        const issues = illFormedInput(await getRawInput());
        if (issues.length > 0) throw validationError(issues);
        const result = await next({ ctx: { em, responseHeaders, user } });
        if (!result.ok) throw result.error;
        return result;
      } catch (error) {
        // Whatever failed (input, resolver), a deleted user's token answers 401 first, as the order of checks demands.
        if (confirmUser) await confirmUser(callCtx);
        throw error;
      }
    } catch (error) {
      // As tRPC would have wrapped it between two middlewares (an AppError stays the cause).
      throw toTrpcError(error instanceof TRPCError ? error : getTRPCErrorFromUnknown(error));
    } finally {
      Object.assign(ctx.responseHeaders, responseHeaders);
      turn?.done();
    }
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

export const publicProcedure = t.procedure.meta({ access: 'public' }).use(callSteps(anyCaller));
export const protectedProcedure = t.procedure.meta({ access: 'user' }).use(callSteps(authenticate));
export const adminProcedure = t.procedure.meta({ access: 'admin' }).use(callSteps(adminCaller));

/**
 * Signed-in procedures whose resolver proves the caller's user row still exists in its own
 * statement (joining `users`, and answering unknownTokenUser() when the row is gone), so the
 * request costs one statement instead of two: the token is verified here as for
 * protectedProcedure, and `ctx.user` carries only its id. When the call fails for any reason
 * the user row is read before answering, so a deleted user's token still gets 401 ahead of
 * any other error. For the cart procedures and checkout, whose first statement reads or locks
 * the user's cart (see cart/queries.ts: readActiveCart, touchActiveCart; checkout: a claimed
 * idempotency key, then closeActiveCart): those rows exist only for a user that exists
 * (`on delete cascade`), and every path that finds none fails.
 */
export const tokenProcedure = t.procedure.meta({ access: 'user' }).use(callSteps((ctx) => Promise.resolve(tokenCaller(ctx)), authenticate));
