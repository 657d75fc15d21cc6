import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { requestScope, type Context } from './context/context.js';
import { authenticate } from './context/auth.js';
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
 * One database session per procedure call, the first step of every builder.
 * tRPC builds the context once per HTTP request, and the calls of a batch
 * (`?batch=1`) run concurrently on it; `createCaller` reuses one context too.
 * Calls sharing one EntityManager share its identity map and unit of work: one
 * call's failed flush is retried by the next call's flush, and a
 * `[signup new, signup taken]` batch hung on PostgreSQL and lost the new user on
 * PGlite. Forking here, not only in the context factories, covers every way a
 * procedure is reached. `responseHeaders` is per call for the same reason; what a
 * call sets is copied to the request's context afterwards, where the REST adapter
 * (one call per request) reads it. The user is per call already (`requireUser`).
 */
const sessionPerCall = t.middleware(async ({ ctx, next }) => {
  const responseHeaders: Record<string, string> = {};
  const result = await next({ ctx: { em: ctx.em.fork(), responseHeaders } });
  Object.assign(ctx.responseHeaders, responseHeaders);
  return result;
});

/**
 * Every procedure passes through here (right after `sessionPerCall`) so that domain errors thrown by
 * services carry the right tRPC code (and therefore HTTP status) on both surfaces.
 */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) throw toTrpcError(result.error);
  return result;
});

/**
 * Body problems (415/413/malformed JSON) are detected by the HTTP layer but
 * reported only after authentication, as the contract's order of checks demands.
 */
const rejectUnreadableBody = t.middleware(({ ctx, next }) => {
  if (ctx.bodyError) throw ctx.bodyError;
  return next();
});

/**
 * Text the database cannot store as sent (U+0000, lone surrogates, in values or
 * keys) and input nested too deeply is refused here, for every procedure and
 * both surfaces: REST merges body, query and path values into the raw input.
 * It runs after the auth checks and before the schemas (contract order of checks).
 */
const rejectIllFormedInput = t.middleware(async ({ getRawInput, next }) => {
  const issues = illFormedInput(await getRawInput());
  if (issues.length > 0) throw validationError(issues);
  return next();
});

const requireUser = t.middleware(async ({ ctx, next }) => {
  const user = await authenticate(ctx);
  return next({ ctx: { ...ctx, user } });
});

const requireAdmin = t.middleware(({ ctx, next }) => {
  if (ctx.user?.role !== 'admin') throw forbidden();
  return next();
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

export const publicProcedure = t.procedure.meta({ access: 'public' }).use(sessionPerCall).use(mapErrors).use(rejectUnreadableBody).use(rejectIllFormedInput);
export const protectedProcedure = t.procedure
  .meta({ access: 'user' })
  .use(sessionPerCall)
  .use(mapErrors)
  .use(requireUser)
  .use(rejectUnreadableBody)
  .use(rejectIllFormedInput);
export const adminProcedure = t.procedure
  .meta({ access: 'admin' })
  .use(sessionPerCall)
  .use(mapErrors)
  .use(requireUser)
  .use(requireAdmin)
  .use(rejectUnreadableBody)
  .use(rejectIllFormedInput);
