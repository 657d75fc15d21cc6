import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createHttpHarness } from './support/harness.js';
import { acceptedUnknownField, before, cartProblem, envelopeProblem, readBackProblem, show, violation, writeSurvey, type Cart, type Outcome } from './support/fuzz-oracle.js';
import { callerArb, contentTypeArb, headerTextArb, hintsFor, pathIdArb, queryText, rawBodyArb, type IdKind } from './support/fuzz-requests.js';
import { NoAnswer, restOperations, restReader, send, type RestOperation } from './support/fuzz-surfaces.js';
import { fromSchema, hostileString, hostileValue, percentEncode, toJsonText, type Big } from './support/fuzz-values.js';
import { createFuzzWorld, fuzz, FUZZ_BUDGET_MS, FUZZ_ENV } from './support/fuzz-world.js';

/**
 * Property-based fuzzing of the REST surface, generated from the served
 * /api/openapi.json: every operation, with path ids, query parameters and bodies
 * drawn from its schemas — mostly valid (as admin and as customer, so writes
 * happen), mixed with hostile values, unknown fields, repeated parameters and odd
 * Content-Types. Properties (contract §1, §2, §5): no 5xx; every non-2xx answer is
 * the error envelope; every accepted write reads back as sent. Then raw sockets.
 * Fixed seed and a time budget: a failure names fast-check's shrunk counterexample.
 */

const h = await createHttpHarness(FUZZ_ENV);
afterAll(async () => {
  await writeSurvey('fuzz.http');
  await h.close();
});
const world = await createFuzzWorld(h);
const doc = (await send(`${h.baseUrl}/api/openapi.json`, { method: 'GET' })).body;
const operations = restOperations(doc);
const pathKind = (op: RestOperation, name: string): IdKind =>
  name === 'itemId' ? 'item' : op.procedure.startsWith('promoCodes.') ? 'promo' : op.procedure.startsWith('orders.') ? 'order' : 'product';

const HOSTILITY = 0.2;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

interface GeneratedRequest {
  as: 'admin' | 'customer' | 'anonymous' | 'bad-token';
  pathParams: Record<string, unknown>;
  /** [name, value] pairs: a parameter may be absent, present once, or repeated. */
  query: [string, unknown][];
  headers: Record<string, string>;
  body: { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string | Big };
  contentType: string;
}

function requestArb(op: RestOperation): fc.Arbitrary<GeneratedRequest> {
  const hints = hintsFor(op.procedure, HOSTILITY);
  const pathParams = fc.record(Object.fromEntries(op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, pathIdArb(pathKind(op, p.name))])));
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const oneParam = (p: RestOperation['parameters'][number]) => {
    const value = hints.forProperty?.(p.name) ?? fromSchema(p.schema, hints);
    return fc.oneof(
      { weight: p.required ? 1 : 4, arbitrary: fc.constant([] as [string, unknown][]) },
      { weight: 8, arbitrary: value.map((v) => [[p.name, v]] as [string, unknown][]) },
      { weight: 1, arbitrary: fc.tuple(value, value).map(([a, b]) => [[p.name, a], [p.name, b]] as [string, unknown][]) },
    );
  };
  const query = fc
    .tuple(fc.tuple(...queryParams.map(oneParam)), fc.option(fc.tuple(fc.constantFrom('unknown', 'page[]', 'PAGE', 'sort', ''), hostileString), { freq: 6 }))
    .map(([groups, extra]) => [...groups.flat(), ...(extra ? [extra as [string, unknown]] : [])]);
  const headerParams = op.parameters.filter((p) => p.in === 'header');
  const headers = fc
    .tuple(
      fc.tuple(...headerParams.map((p) => fc.option(fc.oneof(fromSchema(p.schema, { hostility: 0 }), headerTextArb), { freq: 3 }).map((v) => [p.name, v] as const))),
      fc.option(fc.oneof(fc.constantFrom('fuzz-request.1', 'a'.repeat(128), 'a'.repeat(129), ''), headerTextArb), { freq: 5 }),
    )
    .map(([params, requestId]) => {
      const out: Record<string, string> = {};
      for (const [name, value] of params) if (typeof value === 'string' && value !== '') out[name] = value;
      if (requestId) out['X-Request-Id'] = requestId;
      return out;
    });
  const bodyValue = op.body ? fromSchema(op.body.schema, hints) : fc.constant({});
  const body: fc.Arbitrary<GeneratedRequest['body']> = BODY_METHODS.has(op.method)
    ? fc.oneof(
        { weight: 12, arbitrary: bodyValue.map((value) => ({ kind: 'json' as const, value })) },
        { weight: 1, arbitrary: hostileValue.map((value) => ({ kind: 'json' as const, value })) },
        { weight: 1, arbitrary: rawBodyArb.map((text) => ({ kind: 'raw' as const, text })) },
        { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
      )
    : op.method === 'DELETE'
      ? fc.oneof({ weight: 9, arbitrary: fc.constant({ kind: 'none' as const }) }, { weight: 1, arbitrary: rawBodyArb.map((text) => ({ kind: 'raw' as const, text })) })
      : // fetch cannot send a GET with a body; the raw-socket property below does.
        fc.constant({ kind: 'none' as const });
  return fc.record({ as: callerArb(op.access), pathParams, query, headers, body, contentType: contentTypeArb });
}

/** Sends one generated request and holds the answer to the contract; throws the first violation. */
async function check(op: RestOperation, generated: GeneratedRequest): Promise<void> {
  const { pool } = world;
  const token = world.tokens[generated.as];
  const pathParams = pool.resolve(generated.pathParams) as Record<string, unknown>;
  let path = op.path;
  for (const [name, value] of Object.entries(pathParams)) path = path.replace(`{${name}}`, percentEncode(String(value)));
  const query = (pool.resolve(generated.query) as [string, unknown][]).map(([k, v]) => `${percentEncode(k)}=${percentEncode(queryText(v))}`).join('&');
  const url = `${h.baseUrl}${path}${query ? `?${query}` : ''}`;
  const body = generated.body.kind === 'json' ? toJsonText(pool.resolve(generated.body.value)) : generated.body.kind === 'raw' ? String(generated.body.text) : undefined;
  const headers: Record<string, string> = { ...generated.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  // DELETE takes no body; sending one with a Content-Type is still a request a client may make.
  if (body !== undefined && generated.contentType !== '') headers['Content-Type'] = generated.contentType;

  const read = restReader(h.baseUrl, operations, token);
  const sentBody = generated.body.kind === 'json' ? pool.resolve(generated.body.value) : undefined;
  // The path names the resource: a body field of the same name must not redirect the write.
  const input = { ...(typeof sentBody === 'object' && sentBody !== null ? sentBody : {}), ...pathParams };
  const isWrite = BODY_METHODS.has(op.method) || op.method === 'DELETE';
  const prior = isWrite ? await before(op.procedure, input, read) : undefined;
  const where = `${op.method} ${url.slice(h.baseUrl.length, h.baseUrl.length + 400)} as ${generated.as}\n  headers: ${show(generated.headers, 300)}\n  body: ${show(body ?? '(none)', 400)}`;
  let answer;
  try {
    answer = await send(url, { method: op.method, headers, ...(body !== undefined ? { body } : {}) });
  } catch (error) {
    if (error instanceof NoAnswer) return violation(`${op.method} ${op.path}`, 0, error.message, `${where}\n→ ${error.message}`);
    throw error;
  }

  let problem: string | undefined;
  if (answer.status >= 500) problem = `a ${answer.status}`;
  else if (answer.status >= 300) problem = envelopeProblem(answer.status, answer.headers, answer.text);
  else {
    world.harvest(op.procedure, answer.body);
    if (op.procedure.startsWith('cart.')) problem = cartProblem(answer.body as Cart);
    const outcome: Outcome = { ok: true, status: answer.status, data: answer.body };
    if (!problem && generated.body.kind === 'json') problem = acceptedUnknownField(op.body?.schema, sentBody);
    if (!problem && isWrite && generated.body.kind !== 'raw') problem = await readBackProblem(op.procedure, input, outcome, read, prior);
  }
  if (problem) {
    violation(
      `${op.method} ${op.path}`,
      answer.status,
      problem,
      `${where}\n→ ${answer.status} ${show(answer.text, 400)}\n${problem}`,
    );
  }
}

describe('REST fuzzing from /api/openapi.json', () => {
  it('the document lists every procedure that has a REST route', () => {
    expect(operations.length).toBe(24);
    expect(new Set(operations.map((op) => op.procedure)).size).toBe(operations.length);
  });

  const perOperation = Math.floor((FUZZ_BUDGET_MS * 0.85) / operations.length);
  it.each(operations.map((op) => [`${op.method} ${op.path}`, op] as const))('%s: no 5xx, the envelope on every error, writes read back as sent', async (_name, op) => {
    await fuzz(requestArb(op), (generated) => check(op, generated), perOperation);
  });
});

/** One HTTP/1.1 exchange over a raw socket: what a client that is not fetch sends. */
function rawExchange(request: string | Buffer): Promise<{ statusLine: string; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(h.baseUrl).port), '127.0.0.1');
    let received = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer within 10 s (received ${show(received, 200)})`)));
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', ...rest] = received.split('\r\n\r\n');
      resolve({ statusLine: head.split('\r\n')[0] ?? '', head, body: rest.join('\r\n\r\n') });
    });
    // write, not end: a half-closed socket makes Node drop some answers, which is not what is tested here; 'Connection: close' ends the exchange.
    socket.write(request);
  });
}

const rawMethod = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'Post', 'FOO', 'M-SEARCH');
const rawPath = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...new Set(operations.map((op) => op.path))).chain((path) => fc.constant(path.replace(/\{(\w+)\}/g, () => '00000000-0000-4000-8000-000000000000'))) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '/api/products?page=1&page=2',
      '/api/products?page=%',
      '/api/products?page=%ED%A0%80',
      '/api//products?page=1',
      '/api/products/',
      '/API/PRODUCTS?page=1',
      '/api/products/%2e%2e/cart',
      '/api/products/%00',
      '/api/products/search?q=%00&page=1',
      '/api/./cart',
      '/api/../api/cart',
      '/api/cart/items/',
      '/api/nope',
      '/api',
      '/trpc/products.list?input=%7B',
      '/trpc/products.list,products.byId?batch=1&input=%7B%7D',
      '/trpc/nope',
      '/trpc/',
      '/',
      '/docs',
      '*',
      'http://elsewhere.test/api/products?page=1',
      `/api/products?page=1&q=${'x'.repeat(9_000)}`,
      `/api/${'a/'.repeat(2_000)}`,
    ),
  },
);
const rawHeaders = fc.array(
  fc.constantFrom(
    'Content-Type: application/json',
    'Content-Type: text/plain',
    'Content-Type: application/json\r\nContent-Type: text/plain',
    'Authorization: Bearer',
    'Authorization: Basic Zm9vOmJhcg==',
    `Authorization: Bearer ${'a'.repeat(4_000)}`,
    'X-Request-Id: raw-socket',
    'X-Request-Id: a\tb',
    'X-Request-Id: é',
    'Idempotency-Key: \u00ff',
    'Accept: text/html',
    'Accept-Encoding: gzip',
    'Expect: 100-continue',
    'Origin: http://evil.test',
    'Access-Control-Request-Method: DELETE',
    'X-Forwarded-For: 203.0.113.9, garbage',
  ),
  { maxLength: 3 },
);
const rawBody = fc.oneof(fc.constant(''), fc.constantFrom('{}', '{"page":1}', '{', '[]', 'null'), hostileValue.map((v) => toJsonText(v).slice(0, 50_000)));

describe('raw sockets', () => {
  it('any method, path, header set and body: an HTTP answer below 500, the envelope on REST errors', async () => {
    await fuzz(
      fc.tuple(rawMethod, rawPath, rawHeaders, rawBody, fc.boolean()),
      async ([method, path, extraHeaders, body, chunked]) => {
        const auth = `Authorization: Bearer ${world.tokens.customer}`;
        const headers = [`Host: 127.0.0.1`, 'Connection: close', ...(extraHeaders.some((x) => x.startsWith('Authorization')) ? [] : [auth]), ...extraHeaders];
        const payload = Buffer.from(body, 'utf8');
        const framing = chunked ? ['Transfer-Encoding: chunked'] : payload.length > 0 ? [`Content-Length: ${payload.length}`] : [];
        const chunks = payload.length > 0 ? [Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n')] : [];
        const bodyBytes = chunked ? Buffer.concat([...chunks, Buffer.from('0\r\n\r\n')]) : payload;
        const request = Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\n${[...headers, ...framing].join('\r\n')}\r\n\r\n`, 'latin1'), bodyBytes]);
        const answer = await rawExchange(request);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer.statusLine)?.[1]);
        const describe = `${method} ${show(path, 200)} ${show(extraHeaders)} body ${show(body, 200)}${chunked ? ' (chunked)' : ''}\n→ ${show(answer.head, 400)}\n${show(answer.body, 400)}`;
        const route = `raw ${method}`;
        if (!Number.isInteger(status)) return violation(route, 0, 'no HTTP answer', `no HTTP answer: ${describe}`);
        if (status >= 500) return violation(route, status, `a ${status}`, `a ${status}: ${describe}`);
        const isRest = /^\/api(\/|\?|$)/i.test(path) || path.startsWith('http://');
        if (status >= 300 && isRest && method !== 'HEAD') {
          const headerMap = new Headers();
          for (const line of answer.head.split('\r\n').slice(1)) {
            const at = line.indexOf(':');
            if (at > 0) headerMap.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
          }
          const chunkedAnswer = /transfer-encoding:\s*chunked/i.test(answer.head);
          const text = chunkedAnswer ? answer.body.replace(/^[0-9a-f]+\r\n|\r\n[0-9a-f]+\r\n/gi, '').replace(/\r\n0\r\n\r\n$/, '') : answer.body;
          const problem = envelopeProblem(status, headerMap, Buffer.from(text, 'latin1').toString('utf8'));
          if (problem) violation(route, status, problem, `${problem}: ${describe}`);
        }
      },
      Math.floor(FUZZ_BUDGET_MS * 0.15),
    );
  });
});
