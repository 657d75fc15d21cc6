/**
 * Domain errors carry the contract's stable error codes (§2). Services throw them;
 * they are translated to tRPC errors and REST envelopes in exactly one place
 * (`src/trpc.ts` error formatter and `src/rest/error-envelope.ts`).
 */

export const APP_ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  USERNAME_TAKEN: 409,
  INSUFFICIENT_STOCK: 409,
  CART_EMPTY: 409,
  PROMO_CODE_INVALID: 409,
  PROMO_CODE_TAKEN: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type AppErrorCode = keyof typeof APP_ERROR_STATUS;

export interface FieldIssue {
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly details?: unknown,
    /** Extra response headers this error demands (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = APP_ERROR_STATUS[code];
  }
}

export const validationError = (issues: FieldIssue[], message = 'Request validation failed') =>
  new AppError('VALIDATION_ERROR', message, issues);

export const notFound = (what = 'Resource') => new AppError('NOT_FOUND', `${what} not found`);

export const unauthorized = (message = 'Authentication required') =>
  new AppError('UNAUTHORIZED', message, undefined, { 'WWW-Authenticate': 'Bearer' });

export const forbidden = () => new AppError('FORBIDDEN', 'This action requires the admin role');

/*
 * One constructor per error that is raised in more than one place or shown as an
 * example in the OpenAPI document, so that the message a client reads is written once.
 */

/** Contract §2: every 401 carries `WWW-Authenticate: Bearer`, a failed login's included. */
export const invalidCredentials = () =>
  new AppError('INVALID_CREDENTIALS', 'Invalid username or password', undefined, { 'WWW-Authenticate': 'Bearer' });

export const methodNotAllowed = (method: string | undefined, allow: string) =>
  new AppError('METHOD_NOT_ALLOWED', `Method ${method} not allowed`, undefined, { Allow: allow });

export const usernameTaken = () => new AppError('USERNAME_TAKEN', 'This username is already taken');

export const cartEmpty = () => new AppError('CART_EMPTY', 'The cart is empty');

export const promoCodeTaken = (code: string) => new AppError('PROMO_CODE_TAKEN', 'A promo code with this code already exists', { code });

export const idempotencyKeyReused = () =>
  new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body');

export const payloadTooLarge = () => new AppError('PAYLOAD_TOO_LARGE', 'Request body exceeds 100 KiB');

export const unsupportedMediaType = () => new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be application/json');

export const internalError = () => new AppError('INTERNAL_ERROR', 'An unexpected error occurred');

export const databaseUnavailable = () => new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable, try again shortly');

export type PromoCodeInvalidReason =
  | 'not_found'
  | 'inactive'
  | 'expired'
  | 'not_started'
  | 'exhausted'
  | 'already_used'
  | 'min_subtotal_not_met';

const PROMO_REASON_MESSAGES: Record<PromoCodeInvalidReason, string> = {
  not_found: 'Promo code does not exist',
  inactive: 'Promo code is not active',
  expired: 'Promo code has expired',
  not_started: 'Promo code is not active yet',
  exhausted: 'Promo code has been fully redeemed',
  already_used: 'Promo code was already redeemed by this user',
  min_subtotal_not_met: 'Cart subtotal is below the promo code minimum',
};

/** In the contract's order of precedence (§2): when several hold, the first answers. */
export const PROMO_CODE_INVALID_REASONS = Object.keys(PROMO_REASON_MESSAGES) as PromoCodeInvalidReason[];

export const promoCodeInvalid = (reason: PromoCodeInvalidReason) =>
  new AppError('PROMO_CODE_INVALID', PROMO_REASON_MESSAGES[reason], { reason });

export interface StockShortfall {
  productId: string;
  requested: number;
  available: number;
}

export const insufficientStock = (shortfalls: StockShortfall[]) =>
  new AppError('INSUFFICIENT_STOCK', 'Not enough stock for one or more items', shortfalls);
