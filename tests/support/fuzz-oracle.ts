import { isDeepStrictEqual } from 'node:util';
import { parseOffsetDateTime } from '../../src/routers/promo-codes/schemas.js';
import { toJsonText } from './fuzz-values.js';

/**
 * What the fuzzers (tests/fuzz.*.test.ts) hold every response to, written from the
 * contract (/work/shared/api-contract.md) rather than from the code under test:
 * the error table of §2, the cart invariants of §5, and "an accepted write reads
 * back as sent" (after §1's trimming and the documented defaults).
 */

/**
 * §2: every error code and the status it travels with. Deliberately a second copy of
 * APP_ERROR_STATUS (src/errors.ts), not an import: an oracle that read the code's
 * table would agree with any change made to it.
 */
export const CONTRACT_ERRORS: Record<string, number> = {
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
};

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

const clip = (text: string, max = 600) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);
export const show = (value: unknown, max = 600) => clip(typeof value === 'string' ? value : toJsonText(value), max);

/** §2 over REST: the envelope, its code in the table with the status it names, and requestId = X-Request-Id. */
export function envelopeProblem(status: number, headers: Headers, text: string): string | undefined {
  let body: { error?: { code?: unknown; message?: unknown; requestId?: unknown } } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return 'the error body is not JSON';
  }
  const error = body?.error;
  if (typeof error !== 'object' || error === null) return 'no "error" object';
  if (typeof error.code !== 'string' || !(error.code in CONTRACT_ERRORS)) return `error.code ${show(error.code)} is not in the contract's table`;
  if (CONTRACT_ERRORS[error.code] !== status) return `error.code ${error.code} travels with ${CONTRACT_ERRORS[error.code]}, not ${status}`;
  if (typeof error.message !== 'string' || error.message === '') return 'error.message is not a non-empty string';
  const requestId = headers.get('x-request-id');
  if (!requestId || error.requestId !== requestId) return `error.requestId ${show(error.requestId)} is not X-Request-Id ${show(requestId)}`;
  return undefined;
}

/** §2 over tRPC: data.appCode from the table, data.httpStatus its status (and, over HTTP, the response's). */
export function trpcErrorProblem(shape: unknown, responseStatus?: number): string | undefined {
  const data = (shape as { data?: { appCode?: unknown; httpStatus?: unknown } } | undefined)?.data;
  if (!data) return 'the tRPC error has no data';
  if (typeof data.appCode !== 'string' || !(data.appCode in CONTRACT_ERRORS)) return `data.appCode ${show(data.appCode)} is not in the contract's table`;
  if (data.httpStatus !== CONTRACT_ERRORS[data.appCode]) return `data.httpStatus ${show(data.httpStatus)} is not ${CONTRACT_ERRORS[data.appCode]} for ${data.appCode}`;
  if (responseStatus !== undefined && responseStatus !== data.httpStatus) return `the response status ${responseStatus} is not data.httpStatus ${show(data.httpStatus)}`;
  if ((data.httpStatus as number) >= 500) return `a ${data.appCode} error`;
  return undefined;
}

const cents = (amount: number) => Math.round(amount * 100);
const isMoney = (amount: unknown) => typeof amount === 'number' && Number.isFinite(amount) && Math.abs(amount * 100 - Math.round(amount * 100)) < 1e-6;

interface CartLine {
  id: string;
  productId: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
  available: number;
}
export interface Cart {
  id: string;
  items: CartLine[];
  itemCount: number;
  subtotal: number;
  discount: number;
  total: number;
  promoCode: string | null;
}

/** §5's invariants that hold in every Cart response, whatever happened before. */
export function cartProblem(cart: Cart): string | undefined {
  if (!cart || !Array.isArray(cart.items)) return 'not a cart';
  const productIds = cart.items.map((line) => line.productId);
  if (new Set(productIds).size !== productIds.length) return 'two lines for one product';
  for (const line of cart.items) {
    if (![line.unitPrice, line.lineTotal].every(isMoney)) return `line ${line.id}: money with more than 2 decimals`;
    if (cents(line.lineTotal) !== cents(line.unitPrice) * line.quantity) return `line ${line.id}: lineTotal ${line.lineTotal} ≠ ${line.unitPrice} × ${line.quantity}`;
    if (!Number.isInteger(line.available) || line.available < 0 || line.available > 99) return `line ${line.id}: available ${line.available} outside 0–99`;
    if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > 99) return `line ${line.id}: quantity ${line.quantity} outside 1–99`;
  }
  if (![cart.subtotal, cart.discount, cart.total].every(isMoney)) return 'totals with more than 2 decimals';
  if (cart.itemCount !== cart.items.reduce((n, line) => n + line.quantity, 0)) return `itemCount ${cart.itemCount} ≠ Σ quantity`;
  if (cents(cart.subtotal) !== cart.items.reduce((n, line) => n + cents(line.lineTotal), 0)) return `subtotal ${cart.subtotal} ≠ Σ lineTotal`;
  if (cart.discount < 0 || cents(cart.discount) > cents(cart.subtotal)) return `discount ${cart.discount} outside 0–subtotal`;
  if (cents(cart.total) !== cents(cart.subtotal) - cents(cart.discount)) return `total ${cart.total} ≠ subtotal − discount`;
  if (cart.promoCode === null && cart.discount !== 0) return 'a discount without a promo code';
  return undefined;
}

/** The outcome of one call, whatever the surface (REST, tRPC over HTTP, createCaller). */
export type Outcome = { ok: true; status: number; data: any } | { ok: false; status: number; code: string }; // eslint-disable-line @typescript-eslint/no-explicit-any -- arbitrary JSON

/** A surface the oracle reads back through: a procedure name, its input, who calls. */
export type Reader = (procedure: string, input: unknown) => Promise<Outcome>;

/** What the server parsed: the JSON as it travelled (RawJson as JS reads it), not the generator's objects. */
export const onTheWire = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(toJsonText(value)));

type Json = Record<string, unknown>;
const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const trimmed = (value: unknown) => text(value)?.trim();
const orNull = (value: unknown) => (value === undefined ? null : value);

/** A time as the instant it names: any ISO 8601 form with an offset (contract §8). */
function instant(value: unknown): number | null | undefined {
  if (value === null) return null;
  if (typeof value !== 'string') return undefined;
  const parsed = Date.parse(value.trim());
  // Date.parse reads the extended form; the basic form (20261231T235959Z) is read the way the contract allows.
  return Number.isNaN(parsed) ? (parseOffsetDateTime(value.trim())?.getTime() ?? undefined) : parsed;
}

function productExpectation(sent: Json): Json {
  const category = trimmed(sent.category);
  return {
    name: trimmed(sent.name),
    description: sent.description ?? '',
    price: sent.price,
    imageUrl: orNull(sent.imageUrl),
    category: category ? category : null,
    stock: sent.stock ?? 0,
    attributes: sent.attributes ?? {},
  };
}

const PROMO_DEFAULTS: Json = { active: true, startsAt: null, expiresAt: null, maxRedemptions: null, minSubtotal: 0 };

function promoExpectation(sent: Json, base: Json): Json {
  const expected: Json = { ...base };
  for (const [key, value] of Object.entries(sent)) {
    if (key === 'id') continue;
    expected[key] = key === 'code' ? trimmed(value)?.toUpperCase() : value;
  }
  return expected;
}

function fieldsDiffer(expected: Json, got: Json): string | undefined {
  for (const [key, want] of Object.entries(expected)) {
    const have = got[key];
    if (key === 'startsAt' || key === 'expiresAt') {
      if (instant(want) !== instant(have)) return `${key}: sent ${show(want)}, reads back ${show(have)}`;
      continue;
    }
    if (!isDeepStrictEqual(want, have)) return `${key}: sent ${show(want)}, reads back ${show(have)}`;
  }
  return undefined;
}

/** State a read-back compares against, captured just before the write. */
export async function before(procedure: string, input: unknown, read: Reader): Promise<Outcome | undefined> {
  if (procedure.startsWith('cart.') || procedure === 'checkout.submit') return read('cart.get', undefined);
  const id = (input as { id?: unknown } | undefined)?.id;
  if (procedure === 'promoCodes.update' && typeof id === 'string') return read('promoCodes.byId', { id });
  return undefined;
}

/**
 * "An accepted write reads back as sent": after a successful write, read the resource
 * through the same surface and compare. Returns the problem, if any.
 */
export async function readBackProblem(procedure: string, sentInput: unknown, outcome: Outcome, read: Reader, prior: Outcome | undefined): Promise<string | undefined> {
  if (!outcome.ok) return undefined;
  const sent = (onTheWire(sentInput) ?? {}) as Json;
  const data = outcome.data as Json;
  const priorData = prior?.ok ? (prior.data as Json) : undefined;
  switch (procedure) {
    case 'products.create':
    case 'products.update': {
      const got = await read('products.byId', { id: data.id });
      if (!got.ok) return `products.byId answers ${got.status} ${got.code} after the write`;
      return fieldsDiffer(productExpectation(sent), got.data as Json) ?? fieldsDiffer(got.data as Json, data);
    }
    case 'products.delete': {
      const got = await read('products.byId', { id: sent.id });
      return got.ok ? 'the deleted product still reads back' : got.status === 404 ? undefined : `products.byId answers ${got.status} after the delete`;
    }
    case 'promoCodes.create':
    case 'promoCodes.update': {
      const got = await read('promoCodes.byId', { id: data.id });
      if (!got.ok) return `promoCodes.byId answers ${got.status} ${got.code} after the write`;
      const base = procedure === 'promoCodes.create' ? PROMO_DEFAULTS : (priorData ?? {});
      return fieldsDiffer(promoExpectation(sent, base), got.data as Json) ?? fieldsDiffer(got.data as Json, data);
    }
    case 'promoCodes.delete': {
      const got = await read('promoCodes.byId', { id: sent.id });
      return got.ok ? 'the deleted promo code still reads back' : undefined;
    }
    case 'auth.signup':
    case 'auth.login': {
      const user = data.user as Json;
      if (procedure === 'auth.signup' && user.username !== trimmed(sent.username)) return `username: sent ${show(sent.username)}, answered ${show(user.username)}`;
      const login = await read('auth.login', { username: sent.username, password: sent.password });
      if (!login.ok) return `logging in with what was sent answers ${login.status} ${login.code}`;
      return isDeepStrictEqual((login.data as Json).user, user) ? undefined : `login reads back ${show((login.data as Json).user)}, not ${show(user)}`;
    }
    case 'checkout.submit': {
      const order = await read('orders.byId', { id: data.id });
      if (!order.ok) return `orders.byId answers ${order.status} ${order.code} after the checkout`;
      if (!isDeepStrictEqual(order.data, data)) return `the order reads back as ${show(order.data)}, not ${show(data)}`;
      const cart = await read('cart.get', undefined);
      return cart.ok && (cart.data as Cart).items.length === 0 ? undefined : 'the cart is not empty after a checkout';
    }
    default:
      if (!procedure.startsWith('cart.') || procedure === 'cart.get') return undefined;
  }
  // Cart writes: the answer is the cart, and reading the cart again gives the same.
  const answered = data as unknown as Cart;
  const problem = cartProblem(answered);
  if (problem) return problem;
  const got = await read('cart.get', undefined);
  if (!got.ok) return `cart.get answers ${got.status} after the write`;
  const { updatedAt: _a, ...gotCart } = got.data as Json;
  const { updatedAt: _b, ...answeredCart } = data;
  if (!isDeepStrictEqual(gotCart, answeredCart)) return `the cart reads back as ${show(got.data)}, not as answered ${show(data)}`;
  const priorCart = priorData as unknown as Cart | undefined;
  const lineOf = (cart: Cart | undefined, key: 'id' | 'productId', value: unknown) => cart?.items.find((line) => line[key] === value);
  switch (procedure) {
    case 'cart.addItem': {
      const quantity = (sent.quantity as number | undefined) ?? 1;
      const was = lineOf(priorCart, 'productId', sent.productId)?.quantity ?? 0;
      const now = lineOf(answered, 'productId', sent.productId)?.quantity;
      return now === was + quantity ? undefined : `quantity ${show(now)} after adding ${quantity} to ${was}`;
    }
    case 'cart.updateItem': {
      const now = lineOf(answered, 'id', sent.itemId)?.quantity;
      return now === sent.quantity ? undefined : `quantity ${show(now)} after setting ${show(sent.quantity)}`;
    }
    case 'cart.removeItem':
      return lineOf(answered, 'id', sent.itemId) ? 'the removed line is still there' : undefined;
    case 'cart.applyPromoCode':
      return answered.promoCode === trimmed(sent.code)?.toUpperCase() ? undefined : `promoCode ${show(answered.promoCode)} after applying ${show(sent.code)}`;
    case 'cart.removePromoCode':
      return answered.promoCode === null ? undefined : 'a promo code is still applied';
    case 'cart.clear':
      return answered.items.length === 0 && answered.promoCode === null ? undefined : 'the cleared cart is not empty';
    default:
      return undefined;
  }
}

/**
 * FUZZ_SURVEY=<file>: instead of stopping at the first violation (CI), note every
 * distinct class (route, status, problem) with its first example and go on, then write
 * the list to <file> — for finding everything that fails today in one run.
 */
const surveyFile = process.env.FUZZ_SURVEY;
const survey = new Map<string, { count: number; examples: string[] }>();

export function violation(route: string, status: number, problem: string, example: string): void {
  if (!surveyFile) throw new ContractViolation(example);
  const key = `${route} → ${status}: ${problem.replace(/\d{3,}|"[^"]*"/g, '…').slice(0, 160)}`;
  const seen = survey.get(key) ?? { count: 0, examples: [] };
  seen.count++;
  // The shortest few: a 500 says nothing of its cause, the inputs do.
  seen.examples = [...seen.examples, example].sort((a, b) => a.length - b.length).slice(0, 6);
  survey.set(key, seen);
}

const runCounts: string[] = [];
/** How many inputs a property really sent (reported by FUZZ_SURVEY). */
export function noteRuns(test: string, runs: number): void {
  runCounts.push(`${runs}\t${test}`);
}

export async function writeSurvey(name: string): Promise<void> {
  if (!surveyFile) return;
  const { appendFileSync } = await import('node:fs');
  const lines = [...survey].map(([key, { count, examples }]) => `## ${key} (×${count})\n${examples.join('\n--\n')}\n`);
  appendFileSync(surveyFile, `# ${name}: ${survey.size} classes\n${lines.join('\n')}\nruns:\n${runCounts.join('\n')}\n\n`);
}

/** A field the schema does not allow (additionalProperties: false) that the server accepted anyway (contract §1: unknown fields → 400). */
export function acceptedUnknownField(schema: { properties?: Record<string, unknown>; additionalProperties?: unknown } | undefined, sent: unknown): string | undefined {
  if (!schema || schema.additionalProperties !== false) return undefined;
  const wire = onTheWire(sent);
  if (typeof wire !== 'object' || wire === null || Array.isArray(wire)) return undefined;
  const unknown = Object.keys(wire).filter((key) => !(key in (schema.properties ?? {})));
  return unknown.length > 0 ? `accepted the unknown field(s) ${show(unknown)}` : undefined;
}
