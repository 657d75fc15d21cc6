import type { TRPC_ERROR_CODE_KEY, TRPC_ERROR_CODE_NUMBER } from '@trpc/server';
import type { AppError, AppErrorCode, FieldIssue, PromoCodeInvalidReason, StockShortfall } from './errors.js';

/**
 * The tRPC error shape clients receive (contract §2 over tRPC), typed so that a
 * client narrowing on `data.appCode` gets the `details` of that code.
 */

/** `details` of the codes that carry some (contract §2); every other code carries none. */
export interface DetailsByCode {
  /** Absent only when tRPC itself rejects a request without naming a field. */
  VALIDATION_ERROR: FieldIssue[] | undefined;
  INSUFFICIENT_STOCK: StockShortfall[];
  PROMO_CODE_INVALID: { reason: PromoCodeInvalidReason };
  PROMO_CODE_TAKEN: { code: string };
}

/** One member per error code: `appCode` is the discriminant, `details` what that code carries. */
export type AppErrorDetails = {
  [C in AppErrorCode]: { appCode: C; details: C extends keyof DetailsByCode ? DetailsByCode[C] : undefined };
}[AppErrorCode];

/** `error.data` of a failed tRPC call. */
export type ApiErrorData = {
  /** tRPC's own code (`CONFLICT`, `BAD_REQUEST`, …); switch on `appCode` instead. */
  code: TRPC_ERROR_CODE_KEY;
  /** The status REST would answer with. */
  httpStatus: number;
  /** The procedure path, e.g. `checkout.submit`. */
  path?: string;
  /** Same value as the `X-Request-Id` response header. */
  requestId: string | undefined;
} & AppErrorDetails;

export interface ApiErrorShape {
  message: string;
  code: TRPC_ERROR_CODE_NUMBER;
  data: ApiErrorData;
}

/**
 * The code and details of an AppError as one member of the union. The details
 * were built for that code by the helpers in errors.ts (validationError,
 * insufficientStock, promoCodeInvalid, …): a code that starts carrying details
 * needs its entry in DetailsByCode.
 */
export const errorDetails = (error: AppError): AppErrorDetails => ({ appCode: error.code, details: error.details }) as AppErrorDetails;
