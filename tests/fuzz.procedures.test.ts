import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createHttpHarness } from './support/harness.js';
import { acceptedUnknownField, before, cartProblem, ContractViolation, envelopeProblem, readBackProblem, show, trpcErrorProblem, violation, writeSurvey, type Cart } from './support/fuzz-oracle.js';
import { callerArb, hintsFor, type Caller } from './support/fuzz-requests.js';
import { callerErrorShape, callerReader, invoke, NoAnswer, procedureList, send, trpcReader, trpcSend, type ProcedureInfo } from './support/fuzz-surfaces.js';
import { fromSchema, hostileValue, toJsonText } from './support/fuzz-values.js';
import { createFuzzWorld, fuzz, FUZZ_BUDGET_MS, FUZZ_ENV } from './support/fuzz-world.js';

/**
 * Property-based fuzzing of every procedure, generated from its Zod input schema
 * (z.toJSONSchema, input side): over tRPC's HTTP wire (queries as GET ?input=,
 * mutations as POST) and through createCaller, as admin and as customer, with
 * valid and hostile inputs. Properties (contract §2, §10): no 5xx; every error
 * carries data.appCode from the table with its data.httpStatus (the HTTP status
 * over the wire); every accepted write reads back as sent. Then stateful cart
 * sequences against a model, checking §5's invariants after every step.
 */

const h = await createHttpHarness(FUZZ_ENV);
afterAll(async () => {
  await writeSurvey('fuzz.procedures');
  await h.close();
});
const world = await createFuzzWorld(h);
const procedures = procedureList();
const HOSTILITY = 0.2;

function inputArb(procedure: ProcedureInfo): fc.Arbitrary<unknown> {
  if (!procedure.input) return fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileValue });
  return fc.oneof(
    { weight: 12, arbitrary: fromSchema(procedure.input, hintsFor(procedure.name, HOSTILITY)) },
    { weight: 1, arbitrary: hostileValue },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

const isWrite = (procedure: ProcedureInfo) => procedure.type === 'mutation';

/** A tRPC error over HTTP: the shape of §2 over tRPC, and requestId = X-Request-Id. */
function wireErrorProblem(status: number, headers: Headers, body: unknown): string | undefined {
  const error = (body as { error?: { data?: { requestId?: unknown }; code?: unknown } } | undefined)?.error;
  if (!error) return 'no tRPC error object';
  // A request Node's own parser refuses (a URL over its header limit) never reaches tRPC: it gets the contract envelope.
  if (typeof error.code === 'string' && error.data === undefined) return envelopeProblem(status, headers, JSON.stringify(body));
  const problem = trpcErrorProblem(error, status);
  if (problem) return problem;
  return error.data?.requestId === headers.get('x-request-id') ? undefined : `data.requestId ${show(error.data?.requestId)} is not X-Request-Id`;
}

/** Over tRPC's HTTP wire: the status, the error shape and the read-back. */
async function overHttp(procedure: ProcedureInfo, as: Caller, generated: unknown): Promise<void> {
  const token = world.tokens[as];
  const input = world.pool.resolve(generated);
  const read = trpcReader(h.baseUrl, token);
  const prior = isWrite(procedure) ? await before(procedure.name, input, read) : undefined;
  const where = `trpc ${procedure.type} ${procedure.name} as ${as}\n  input: ${show(fc.stringify(generated), 500)}`;
  let answer;
  try {
    answer = await trpcSend(h.baseUrl, procedure, input, token);
  } catch (error) {
    if (error instanceof NoAnswer) return violation(`trpc ${procedure.name}`, 0, error.message, `${where}\n→ ${error.message}`);
    throw error;
  }
  let problem: string | undefined;
  if (answer.status >= 500) problem = `a ${answer.status}`;
  else if (answer.status >= 300) problem = wireErrorProblem(answer.status, answer.headers, answer.body);
  else {
    const data = answer.body?.result?.data as unknown;
    world.harvest(procedure.name, data);
    if (procedure.name.startsWith('cart.')) problem = cartProblem(data as Cart);
    if (!problem) problem = acceptedUnknownField(procedure.input, input);
    if (!problem && isWrite(procedure)) problem = await readBackProblem(procedure.name, input, { ok: true, status: answer.status, data }, read, prior);
  }
  if (problem) violation(`trpc ${procedure.name}`, answer.status, problem, `${where}\n→ ${answer.status} ${show(answer.text, 400)}\n${problem}`);
}

/** Values only a TypeScript caller can pass: createCaller skips JSON, so these reach the schemas as they are. */
const jsOnlyValue = fc.constantFrom<unknown>(Number.NaN, Infinity, -Infinity, new Date(Number.NaN), new Date(0), 10n, Symbol('x'), () => 1, new Map(), Object.create(null));

/** Through createCaller: the error the router's own formatter makes of a failure, and the read-back. */
async function throughCaller(procedure: ProcedureInfo, as: Caller, generated: unknown, jsOnly: unknown): Promise<void> {
  const user = as === 'admin' ? world.users.admin : as === 'customer' ? world.users.customer : undefined;
  const resolved = world.pool.resolve(generated);
  // What JSON can carry travels as JSON would (RawJson parsed, big strings expanded); a JS-only value replaces a field or the whole input.
  let input: unknown = resolved === undefined ? undefined : JSON.parse(toJsonText(resolved));
  if (jsOnly !== undefined) input = typeof input === 'object' && input !== null && !Array.isArray(input) ? { ...input, [Object.keys(input)[0] ?? 'id']: jsOnly } : jsOnly;
  const read = callerReader(h, user);
  const prior = isWrite(procedure) && jsOnly === undefined ? await before(procedure.name, input, read) : undefined;
  const where = `caller ${procedure.name} as ${as === 'bad-token' ? 'anonymous' : as}\n  input: ${show(fc.stringify(generated), 500)}${jsOnly === undefined ? '' : ` with ${fc.stringify(jsOnly)}`}`;
  let problem: string | undefined;
  try {
    const data = JSON.parse(JSON.stringify((await invoke(h, user, procedure.name, input)) ?? null)) as unknown;
    world.harvest(procedure.name, data);
    if (procedure.name.startsWith('cart.')) problem = cartProblem(data as Cart);
    if (!problem && isWrite(procedure) && jsOnly === undefined) problem = await readBackProblem(procedure.name, input, { ok: true, status: 200, data }, read, prior);
  } catch (error) {
    problem = trpcErrorProblem(callerErrorShape(error, procedure, input));
    if (problem) problem += ` (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`.slice(0, 400);
  }
  if (problem) violation(`caller ${procedure.name}`, 0, problem, `${where}\n→ ${problem}`);
}

describe('every procedure, over tRPC HTTP and through createCaller', () => {
  it('covers every procedure of the router', () => {
    expect(procedures.length).toBe(24);
  });

  const perProcedure = Math.floor((FUZZ_BUDGET_MS * 0.6) / procedures.length);
  it.each(procedures.map((p) => [p.name, p] as const))('%s: no 5xx, data.appCode/httpStatus on every error, writes read back as sent', async (_name, procedure) => {
    const jsOnly = fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: jsOnlyValue });
    await fuzz(
      fc.tuple(callerArb(procedure.access), inputArb(procedure), jsOnly),
      async ([as, generated, jsOnlyInput]) => {
        await overHttp(procedure, as, generated);
        await throughCaller(procedure, as, generated, jsOnlyInput);
      },
      perProcedure,
    );
  });
});

// ---- Stateful cart sequences (contract §5, §6) ----

interface ModelProduct {
  id: string;
  name: string;
  priceCents: number;
  stock: number;
  deleted: boolean;
}
interface Model {
  products: ModelProduct[];
  /** Lines in the order they were first added. */
  lines: { product: number; quantity: number }[];
  promo: string | null;
  used: Set<string>;
  codes: { percent: string; fixed: string };
  /** The fixed code has maxRedemptions 1: once anyone redeems it, it is exhausted. */
  fixedRedeemed: boolean;
  orders: number;
}
interface Real {
  token: string;
  call(method: string, path: string, json?: unknown, token?: string): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- arbitrary JSON
}

const subtotalCents = (m: Model) => m.lines.reduce((n, line) => n + m.products[line.product]!.priceCents * line.quantity, 0);
const available = (p: ModelProduct) => Math.min(99, p.stock);
function promoValid(m: Model, code: string): boolean {
  if (m.used.has(code)) return false;
  if (code === m.codes.fixed) return !m.fixedRedeemed && subtotalCents(m) >= 2_000;
  return code === m.codes.percent;
}
function discountCents(m: Model): number {
  if (!m.promo || !promoValid(m, m.promo)) return 0;
  const subtotal = subtotalCents(m);
  return m.promo === m.codes.percent ? Math.floor((subtotal * 10 + 50) / 100) : Math.min(500, subtotal);
}

function expectStatus(step: string, got: { status: number; body: unknown }, want: number, code?: string) {
  const gotCode = (got.body as { error?: { code?: string } } | undefined)?.error?.code;
  if (got.status !== want || (code && gotCode !== code)) throw new ContractViolation(`${step}: expected ${want}${code ? ` ${code}` : ''}, got ${got.status} ${show(got.body, 400)}`);
}

/** After every step: the cart as the server reads it, against §5's invariants and the model. */
async function checkCart(step: string, m: Model, r: Real) {
  const res = await r.call('GET', '/api/cart');
  const cart = res.body as Cart & { items: { productId: string; quantity: number; unitPrice: number; available: number }[] };
  const problem = cartProblem(cart);
  if (problem) throw new ContractViolation(`${step}: ${problem}\n${show(cart, 800)}`);
  const expected = m.lines.map((line) => ({ productId: m.products[line.product]!.id, quantity: line.quantity, unitPrice: m.products[line.product]!.priceCents / 100, available: available(m.products[line.product]!) }));
  const actual = cart.items.map(({ productId, quantity, unitPrice, available }) => ({ productId, quantity, unitPrice, available }));
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new ContractViolation(`${step}: lines ${show(actual)}, the model says ${show(expected)}`);
  if (cart.promoCode !== m.promo) throw new ContractViolation(`${step}: promoCode ${show(cart.promoCode)}, the model says ${show(m.promo)}`);
  if (Math.round(cart.discount * 100) !== discountCents(m)) throw new ContractViolation(`${step}: discount ${cart.discount}, the model says ${discountCents(m) / 100}`);
}

type Command = fc.AsyncCommand<Model, Real>;
const command = (label: string, run: (m: Model, r: Real) => Promise<void>): Command => ({
  check: () => true,
  async run(m, r) {
    await run(m, r);
    await checkCart(label, m, r);
  },
  toString: () => label,
});

const product = fc.integer({ min: 0, max: 2 });
const quantity = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 2, arbitrary: fc.constantFrom(0, 98, 99, 100) });
const commands = [
  fc.tuple(product, quantity).map(([p, q]) =>
    command(`addItem(product ${p}, ${q})`, async (m, r) => {
      const target = m.products[p]!;
      const res = await r.call('POST', '/api/cart/items', { productId: target.id, quantity: q });
      const line = m.lines.find((l) => l.product === p);
      if (q < 1 || q > 99) return expectStatus('addItem', res, 400, 'VALIDATION_ERROR');
      if (target.deleted) return expectStatus('addItem', res, 404, 'NOT_FOUND');
      if ((line?.quantity ?? 0) + q > available(target)) return expectStatus('addItem', res, 409, 'INSUFFICIENT_STOCK');
      expectStatus('addItem', res, 200);
      if (line) line.quantity += q;
      else m.lines.push({ product: p, quantity: q });
    }),
  ),
  fc.tuple(product, quantity).map(([p, q]) =>
    command(`updateItem(product ${p}, ${q})`, async (m, r) => {
      const cart = (await r.call('GET', '/api/cart')).body as Cart;
      const itemId = cart.items.find((line) => line.productId === m.products[p]!.id)?.id ?? '00000000-0000-4000-8000-000000000000';
      const res = await r.call('PATCH', `/api/cart/items/${itemId}`, { quantity: q });
      const line = m.lines.find((l) => l.product === p);
      if (q < 1 || q > 99) return expectStatus('updateItem', res, 400, 'VALIDATION_ERROR');
      if (!line) return expectStatus('updateItem', res, 404, 'NOT_FOUND');
      if (q > available(m.products[p]!)) return expectStatus('updateItem', res, 409, 'INSUFFICIENT_STOCK');
      expectStatus('updateItem', res, 200);
      line.quantity = q;
    }),
  ),
  product.map((p) =>
    command(`removeItem(product ${p})`, async (m, r) => {
      const cart = (await r.call('GET', '/api/cart')).body as Cart;
      const itemId = cart.items.find((line) => line.productId === m.products[p]!.id)?.id ?? '00000000-0000-4000-8000-000000000000';
      const res = await r.call('DELETE', `/api/cart/items/${itemId}`);
      if (!m.lines.some((l) => l.product === p)) return expectStatus('removeItem', res, 404, 'NOT_FOUND');
      expectStatus('removeItem', res, 200);
      m.lines = m.lines.filter((l) => l.product !== p);
    }),
  ),
  fc.constant(
    command('clear', async (m, r) => {
      expectStatus('clear', await r.call('DELETE', '/api/cart'), 200);
      m.lines = [];
      m.promo = null;
    }),
  ),
  fc.constantFrom('percent', 'fixed', 'unknown').map((which) =>
    command(`applyPromoCode(${which})`, async (m, r) => {
      const code = which === 'percent' ? m.codes.percent : which === 'fixed' ? m.codes.fixed : 'NO-SUCH-CODE';
      const res = await r.call('POST', '/api/cart/promo-code', { code: ` ${code.toLowerCase()} ` });
      if (!promoValid(m, code)) return expectStatus('applyPromoCode', res, 409, 'PROMO_CODE_INVALID');
      expectStatus('applyPromoCode', res, 200);
      m.promo = code;
    }),
  ),
  fc.constant(
    command('removePromoCode', async (m, r) => {
      expectStatus('removePromoCode', await r.call('DELETE', '/api/cart/promo-code'), 200);
      m.promo = null;
    }),
  ),
  fc.constant(
    command('checkout', async (m, r) => {
      const res = await r.call('POST', '/api/checkout');
      if (m.lines.length === 0) return expectStatus('checkout', res, 409, 'CART_EMPTY');
      if (m.lines.some((line) => line.quantity > m.products[line.product]!.stock)) return expectStatus('checkout', res, 409, 'INSUFFICIENT_STOCK');
      if (m.promo && !promoValid(m, m.promo)) return expectStatus('checkout', res, 409, 'PROMO_CODE_INVALID');
      expectStatus('checkout', res, 201);
      const order = res.body as { total: number; discount: number; itemCount: number };
      const wantDiscount = discountCents(m);
      if (Math.round(order.discount * 100) !== wantDiscount || Math.round(order.total * 100) !== subtotalCents(m) - wantDiscount) {
        throw new ContractViolation(`checkout: order ${show(order)}, the model says subtotal ${subtotalCents(m) / 100} discount ${wantDiscount / 100}`);
      }
      for (const line of m.lines) m.products[line.product]!.stock -= line.quantity;
      if (m.promo) m.used.add(m.promo);
      if (m.promo === m.codes.fixed) m.fixedRedeemed = true;
      m.lines = [];
      m.promo = null;
      m.orders++;
      const orders = await r.call('GET', '/api/orders?page=1&limit=100');
      if (orders.body.total !== m.orders) throw new ContractViolation(`checkout: ${orders.body.total} orders, the model says ${m.orders}`);
    }),
  ),
  fc.tuple(product, fc.integer({ min: 1, max: 30_000 }), fc.integer({ min: 0, max: 6 })).map(([p, cents, stock]) =>
    command(`admin PUT product ${p} (price ${cents / 100}, stock ${stock})`, async (m, r) => {
      const target = m.products[p]!;
      const res = await r.call('PUT', `/api/products/${target.id}`, { name: target.name, price: cents / 100, stock }, world.tokens.admin);
      if (target.deleted) return expectStatus('admin PUT', res, 404, 'NOT_FOUND');
      expectStatus('admin PUT', res, 200);
      target.priceCents = cents;
      target.stock = stock;
    }),
  ),
  product.map((p) =>
    command(`admin DELETE product ${p}`, async (m, r) => {
      const target = m.products[p]!;
      const res = await r.call('DELETE', `/api/products/${target.id}`, undefined, world.tokens.admin);
      if (target.deleted) return expectStatus('admin DELETE', res, 404, 'NOT_FOUND');
      expectStatus('admin DELETE', res, 204);
      target.deleted = true;
      m.lines = m.lines.filter((line) => line.product !== p);
    }),
  ),
];

let run = 0;
describe('stateful cart sequences', () => {
  it('add, update, remove, clear, promo codes, checkout and admin edits keep §5 true after every step', async () => {
    await fuzz(
      fc.commands(commands, { maxCommands: 14 }),
      async (cmds) => {
        run++;
        const customer = await h.createUser();
        const call: Real['call'] = async (method, path, json, token = customer.token) => {
          const res = await send(`${h.baseUrl}${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'Content-Type': 'application/json' }) }, ...(json === undefined ? {} : { body: JSON.stringify(json) }) });
          return { status: res.status, body: res.body };
        };
        const products: ModelProduct[] = [];
        for (const [i, [priceCents, stock]] of [[1_000, 5], [99, 1], [25_050, 120]].entries()) {
          const name = `Sequence ${run}.${i}`;
          const res = await call('POST', '/api/products', { name, price: priceCents! / 100, stock }, world.tokens.admin);
          products.push({ id: res.body.id as string, name, priceCents: priceCents!, stock: stock!, deleted: false });
        }
        const codes = { percent: `SEQ${run}P`, fixed: `SEQ${run}F` };
        await call('POST', '/api/promo-codes', { code: codes.percent, type: 'percent', value: 10 }, world.tokens.admin);
        await call('POST', '/api/promo-codes', { code: codes.fixed, type: 'fixed', value: 5, minSubtotal: 20, maxRedemptions: 1 }, world.tokens.admin);
        const model: Model = { products, lines: [], promo: null, used: new Set(), codes, fixedRedeemed: false, orders: 0 };
        await fc.asyncModelRun(() => ({ model, real: { token: customer.token, call } }), cmds);
      },
      Math.floor(FUZZ_BUDGET_MS * 0.35),
      200,
    );
  });
});

