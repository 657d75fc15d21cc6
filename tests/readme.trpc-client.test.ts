import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Product } from '../src/entities/Product.js';
import { createHttpHarness, type HttpHarness } from './support/harness.js';

/**
 * The README's tRPC client snippet, exactly as printed, type-checked against the
 * real `AppRouter` and run against a real server, so the README cannot rot.
 */

const root = path.resolve(import.meta.dirname, '..');
const README_URL = 'http://localhost:3000';

/** The first ```ts block of the README's "TypeScript client (tRPC)" section. */
function readmeSnippet(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## TypeScript client (tRPC)'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error('README has no ts block in its tRPC section');
  return block[1];
}

let h: HttpHarness;
// Beside README.md, so the snippet's own relative import (`./src/routers/_app.js`) resolves as printed.
const snippetFile = path.join(root, `.readme-snippet-${randomBytes(4).toString('hex')}.ts`);

beforeAll(async () => {
  h = await createHttpHarness();
  writeFileSync(snippetFile, readmeSnippet());
});
afterAll(async () => {
  rmSync(snippetFile, { force: true });
  await h.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('README: TypeScript client (tRPC)', () => {
  // A whole-program type check (the snippet pulls in every router's types): seconds of CPU, more on a busy machine.
  it('type-checks against the real AppRouter', { timeout: 180_000 }, () => {
    const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
    const program = ts.createProgram([snippetFile], config!.options);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });

  it('runs as printed: logs in, searches, adds to the cart and checks out over httpBatchLink', async () => {
    const snippet = readmeSnippet();
    expect(snippet).toContain('httpBatchLink');
    expect(snippet).toContain(`${README_URL}/trpc`);

    await h.createUser({ username: 'ada', password: 'correct horse' });
    const em = h.db.orm.em.fork();
    em.create(Product, { name: 'Trail Running Shoe', priceCents: 8999, stock: 5, imageUrl: null, category: 'footwear' });
    await em.flush();

    // The snippet talks to localhost:3000; the test server listens elsewhere.
    const realFetch = globalThis.fetch;
    const urls: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      urls.push(url);
      return realFetch(url.replace(README_URL, h.baseUrl), init);
    });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});

    await import(/* @vite-ignore */ snippetFile);

    expect(log.mock.calls).toEqual([[89.99, 'EUR']]);
    expect(urls.every((url) => url.startsWith(`${README_URL}/trpc/`) && url.includes('batch=1'))).toBe(true);
    expect(urls.map((url) => new URL(url).pathname)).toEqual(['/trpc/auth.login', '/trpc/products.search', '/trpc/cart.addItem', '/trpc/checkout.submit']);
  });
});
