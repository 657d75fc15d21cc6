import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { TRPCClient } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRequests } from '../src/metrics/registry.js';
import type { AppRouter } from '../src/routers/_app.js';
import { createHttpHarness, type HttpHarness } from './support/harness.js';

/**
 * The client package (packages/api-client, built by `npm run build:client`) as a
 * frontend in another folder uses it: that folder has only @trpc/client and
 * @trpc/server, a strict tsconfig with library checks on, the README's client,
 * and lines that must not compile. TypeScript itself is the judge. Then the
 * same client runs against a real server.
 */

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const BUILD_TIMEOUT_MS = 240_000;

/** Compiler settings of a typical bundled frontend, stricter than most: the package must hold under all of them. */
const FRONTEND_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    // @trpc/server's own declarations use Disposable, hence ESNext.Disposable once library checks are on.
    lib: ['ES2023', 'DOM', 'DOM.Iterable', 'ESNext.Disposable'],
    module: 'ESNext',
    moduleResolution: 'bundler',
    moduleDetection: 'force',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noUnusedLocals: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    skipLibCheck: false,
    types: [],
    noEmit: true,
  },
  include: ['src'],
};

/** What must hold, and what must not compile (each `@ts-expect-error` line fails the check when it compiles). */
const CHECKS = `
import type { RouterInputs, RouterOutputs } from '@storefront/api-client';
import { api, isApiError } from './api';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const typed: true[] = [
  true as Equal<Awaited<ReturnType<typeof api.products.delete.mutate>>, void>,
  true as Equal<RouterOutputs['promoCodes']['delete'], void>,
  true as Equal<RouterOutputs['checkout']['submit']['status'], 'placed'>,
  true as Equal<RouterOutputs['products']['byId']['price'], number>,
  true as Equal<RouterInputs['products']['list']['page'], number>,
  true as Equal<RouterInputs['orders']['list']['limit'], number | undefined>,
];

export async function mustNotCompile(error: unknown) {
  // @ts-expect-error page is a number for a typed client
  await api.products.list.query({ page: 'abc' });
  // @ts-expect-error so is limit
  await api.orders.list.query({ page: 1, limit: '10' });
  // @ts-expect-error and inStock a boolean
  await api.products.search.query({ q: 'lamp', page: 1, inStock: 'yes' });
  // @ts-expect-error no such procedure
  await api.products.nope.query();
  // @ts-expect-error no such field in the input
  await api.cart.addItem.mutate({ productId: 'p', quantity: 1, colour: 'red' });
  // @ts-expect-error a quantity is a number
  await api.cart.addItem.mutate({ productId: 'p', quantity: '1' });
  // @ts-expect-error a query is not a mutation
  await api.products.list.mutate({ page: 1 });
  if (isApiError(error)) {
    // @ts-expect-error not an error code of the API
    if (error.data.appCode === 'OUT_OF_STOCK') return;
    // @ts-expect-error CART_EMPTY carries no details
    if (error.data.appCode === 'CART_EMPTY') return error.data.details.length;
    if (error.data.appCode === 'PROMO_CODE_INVALID') {
      const reason: 'not_found' | 'inactive' | 'expired' | 'not_started' | 'exhausted' | 'already_used' | 'min_subtotal_not_met' = error.data.details.reason;
      return reason;
    }
    if (error.data.appCode === 'VALIDATION_ERROR') return error.data.details?.map((issue) => issue.field);
  }
  return undefined;
}
`;

/** The first TypeScript block of the README's "TypeScript client" section: what a frontend copies. */
async function readmeClient(): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('TypeScript client'));
  const code = section?.match(/```ts\n([\s\S]*?)```/)?.[1];
  if (!code) throw new Error('README.md has no ```ts block in its "TypeScript client" section');
  return code;
}

let frontend: string;
let bundle: string;

beforeAll(async () => {
  await run('npm', ['run', '--silent', 'build:client'], { cwd: ROOT });
  bundle = await readFile(path.join(ROOT, 'packages/api-client/index.d.ts'), 'utf8');

  frontend = await mkdtemp(path.join(tmpdir(), 'storefront-frontend-'));
  // The package as `npm pack` ships it, unpacked where `npm install <tarball>` puts it.
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', frontend, './packages/api-client'], { cwd: ROOT });
  const installed = path.join(frontend, 'node_modules/@storefront/api-client');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', path.join(frontend, stdout.trim()), '-C', installed, '--strip-components=1']);
  // The only other packages: the tRPC client and server, linked from this project (no network here).
  await mkdir(path.join(frontend, 'node_modules/@trpc'));
  for (const name of ['client', 'server']) await symlink(path.join(ROOT, 'node_modules/@trpc', name), path.join(frontend, 'node_modules/@trpc', name), 'dir');

  await writeFile(path.join(frontend, 'package.json'), JSON.stringify({ name: 'frontend', private: true, type: 'module' }));
  await writeFile(path.join(frontend, 'tsconfig.json'), JSON.stringify(FRONTEND_TSCONFIG, null, 2));
  await mkdir(path.join(frontend, 'src'));
  await writeFile(path.join(frontend, 'src/api.ts'), await readmeClient());
  await writeFile(path.join(frontend, 'src/checks.ts'), CHECKS);
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (frontend) await rm(frontend, { recursive: true, force: true });
});

describe('the client package', () => {
  it('is one declaration file that imports nothing but @trpc/server', async () => {
    const specifiers = new Set([...bundle.matchAll(/(?:from\s+|import\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]));
    expect([...specifiers]).toEqual(['@trpc/server']);
    expect(bundle).not.toMatch(/mikro-orm|express|zod|trpc-to-openapi|\bctx: \{\s*em\b/);
    const manifest = JSON.parse(await readFile(path.join(frontend, 'node_modules/@storefront/api-client/package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      dependencies?: unknown;
    };
    expect(Object.keys(manifest.peerDependencies)).toEqual(['@trpc/server']);
    expect(manifest.dependencies).toBeUndefined();
  });

  it(
    'type-checks the README client and rejects wrong calls, in a strict frontend with only @trpc/client and @trpc/server',
    async () => {
      const result = await run(process.execPath, [TSC, '-p', frontend, '--extendedDiagnostics'], { cwd: frontend }).then(
        ({ stdout }) => ({ ok: true, stdout }),
        (error: { stdout?: string; stderr?: string }) => ({ ok: false, stdout: `${error.stdout ?? ''}${error.stderr ?? ''}` }),
      );
      const diagnostics = result.stdout.split('\n').filter((line) => /error TS/.test(line));
      expect(diagnostics, result.stdout).toEqual([]);
      expect(result.ok, result.stdout).toBe(true);
      // Reported, not asserted: the machine's load decides the timing.
      const stat = (name: string) => result.stdout.match(new RegExp(`${name}:\\s+(\\S+)`))?.[1];
      console.info(`frontend type-check: ${stat('Files')} files, check ${stat('Check time')}, total ${stat('Total time')}`);
    },
    BUILD_TIMEOUT_MS,
  );
});

/** The README client, run: its exports, with the URL pointed at the test server. */
interface ReadmeClient {
  api: TRPCClient<AppRouter>;
  signIn(token: string | undefined): void;
  isApiError(error: unknown): boolean;
  buyOne(productId: string): Promise<number>;
}

describe('the README client against the API', () => {
  let h: HttpHarness;
  let client: ReadmeClient;

  beforeAll(async () => {
    // METRICS_PORT only switches request counting on: it tells how many HTTP requests a batch took.
    h = await createHttpHarness({ METRICS_PORT: '9464' });
    await h.createUser({ username: 'ada', password: 'correct horse' });
    const live = path.join(frontend, 'live/api.ts');
    await mkdir(path.dirname(live));
    await writeFile(live, (await readmeClient()).replace("'http://localhost:3000/trpc'", `'${h.baseUrl}/trpc'`));
    client = (await import(pathToFileURL(live).href)) as ReadmeClient;
    client.signIn((await client.api.auth.login.mutate({ username: 'ada', password: 'correct horse' })).accessToken);
  });
  afterAll(() => h?.close());

  const createProduct = (stock: number) => h.createProduct({ priceCents: 1999, stock });

  it('logs in, browses, fills the cart and checks out', async () => {
    const product = await createProduct(3);
    expect(await client.buyOne(product.id)).toBe(19.99);
  });

  it('sends the per-call Idempotency-Key: the same key again replays the order instead of finding an empty cart', async () => {
    const product = await createProduct(3);
    await client.api.cart.addItem.mutate({ productId: product.id, quantity: 1 });
    const first = await client.api.checkout.submit.mutate({}, { context: { idempotencyKey: 'readme-retry-1' } });
    const retry = await client.api.checkout.submit.mutate({}, { context: { idempotencyKey: 'readme-retry-1' } });
    expect(retry).toEqual(first);
    const withoutKey = await client.api.checkout.submit.mutate({}).catch((error: unknown) => error);
    expect(client.isApiError(withoutKey) && (withoutKey as { data: { appCode: string } }).data.appCode).toBe('CART_EMPTY');
  });

  it('batches calls made together into one request', async () => {
    const product = await createProduct(3);
    const batches = async () => (await httpRequests.get()).values.filter((v) => v.labels.route === '/trpc/{batch}').reduce((n, v) => n + v.value, 0);
    const before = await batches();
    const [byId, me] = await Promise.all([client.api.products.byId.query({ id: product.id }), client.api.auth.me.query()]);
    expect([byId.id, me.username]).toEqual([product.id, 'ada']);
    expect((await batches()) - before).toBe(1);
  });

  it('narrows an API error to its code and typed details', async () => {
    const soldOut = await createProduct(0);
    const failed = await client.buyOne(soldOut.id).catch((e: unknown) => e);
    expect(client.isApiError(failed)).toBe(true);
    expect((failed as { data: unknown }).data).toMatchObject({
      appCode: 'INSUFFICIENT_STOCK',
      httpStatus: 409,
      details: [{ productId: soldOut.id, requested: 1, available: 0 }],
    });
    expect(client.isApiError(new Error('network down'))).toBe(false);
  });
});
