import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { requestScope, type Context } from './context/context.js';
import { authenticate } from './context/auth.js';
import { toAppError, toTrpcError } from './error-mapping.js';
import { errorDetails, type ApiErrorShape } from './error-shape.js';
import { forbidden } from './errors.js';

export interface ProcedureMeta extends OpenApiMeta {
  /** REST success status when it is not 200 (201 for creations, 204 for deletions). */
  successStatus?: 201 | 204;
  /** Who may call the procedure; set by the builders below, read by the OpenAPI document. */
  access?: 'public' | 'user' | 'admin';
}

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
 * Every procedure passes through here first so that domain errors thrown by
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

export const publicProcedure = t.procedure.meta({ access: 'public' }).use(mapErrors).use(rejectUnreadableBody);
export const protectedProcedure = t.procedure.meta({ access: 'user' }).use(mapErrors).use(requireUser).use(rejectUnreadableBody);
export const adminProcedure = t.procedure
  .meta({ access: 'admin' })
  .use(mapErrors)
  .use(requireUser)
  .use(requireAdmin)
  .use(rejectUnreadableBody);
