/**
 * The router's type as a TypeScript client sees it, and nothing of the server.
 *
 * `npm run build:client` bundles the declarations of this file into
 * packages/api-client/index.d.ts (dts-bundle-generator): a single file that
 * imports only `@trpc/server`, so a frontend type-checks it without the
 * backend's 900 files and dependency types (MikroORM, Express, Zod).
 *
 * What differs from `typeof appRouter`:
 * - no server context (it holds the EntityManager) and no procedure metadata
 *   (OpenAPI settings): a client infers neither;
 * - query parameters that accept text only because REST query strings are text
 *   (`page`, `limit`, `minPrice`, `inStock`, …) take their JSON type: `page: 'abc'`
 *   does not compile;
 * - procedures with no result (the 204 deletions) resolve to `void`.
 *
 * Nothing here runs: the server never imports this file (it is left out of the build).
 */
import type {
  AnyTRPCProcedure,
  inferRouterInputs,
  inferRouterOutputs,
  TRPCBuiltRouter,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
} from '@trpc/server';
import type { ApiErrorShape } from './error-shape.js';
import type { ServerRouter } from './routers/_app.js';

export type { ApiErrorData, ApiErrorShape, AppErrorDetails } from './error-shape.js';
export type { AppErrorCode, FieldIssue, PromoCodeInvalidReason, StockShortfall } from './errors.js';

type ServerRoot = ServerRouter['_def']['_config']['$types'];

/** `string | number` (or `string | boolean`) exactly, as the shared query schemas accept: the number (boolean) alone. */
type JsonQueryValue<T> = [Exclude<T, undefined>] extends [string | number]
  ? [string | number] extends [Exclude<T, undefined>]
    ? number | Extract<T, undefined>
    : T
  : [Exclude<T, undefined>] extends [string | boolean]
    ? [string | boolean] extends [Exclude<T, undefined>]
      ? boolean | Extract<T, undefined>
      : T
    : T;

type ClientInput<T> = T extends object ? { [K in keyof T]: JsonQueryValue<T[K]> } : T;

/**
 * tRPC types a result as JSON (its `Serialize`), which has no `void` and turns it
 * into `never`; a value whose `toJSON()` returns void serializes to exactly `void`.
 */
interface NoContent {
  toJSON(): void;
}

type ClientOutput<T> = [T] extends [void] ? NoContent : T;

type ClientEntry<P> =
  P extends TRPCQueryProcedure<infer D>
    ? TRPCQueryProcedure<{ input: ClientInput<D['input']>; output: ClientOutput<D['output']>; meta: object }>
    : P extends TRPCMutationProcedure<infer D>
      ? TRPCMutationProcedure<{ input: ClientInput<D['input']>; output: ClientOutput<D['output']>; meta: object }>
      : P extends AnyTRPCProcedure
        ? never // no subscriptions today; a new kind of procedure must be added here deliberately
        : { [K in keyof P]: ClientEntry<P[K]> };

/**
 * The declaration emit writes out an inferred type in full, while a type alias
 * would be emitted as written (naming `appRouter` and with it the server
 * context): so the client record is the inferred type of a constant.
 */
const clientRecord = <R>(record: R) => record as { [K in keyof R]: ClientEntry<R[K]> };
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- only its type is used
const procedures = clientRecord(undefined as unknown as ServerRouter['_def']['record']);

/** What `createTRPCClient<AppRouter>` needs: the procedures, the error shape, no transformer. */
export type AppRouter = TRPCBuiltRouter<{ ctx: object; meta: object; errorShape: ApiErrorShape; transformer: false }, typeof procedures>;

/** Inputs and outputs by procedure path: `RouterOutputs['products']['byId']['price']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

// Kept in step with the server: the same error shape, and plain JSON on the wire.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const sameErrorShape: Equal<ServerRoot['errorShape'], ApiErrorShape> = true;
const noTransformer: Equal<ServerRoot['transformer'], false> = true;
void [sameErrorShape, noTransformer];
