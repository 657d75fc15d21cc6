import { existsSync } from 'node:fs';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverUrl } from './support/database.js';
import { createEmptyDatabase, SERVER_SECRET, SPAWNED_TEST_TIMEOUT_MS, startServer, type EmptyDatabase, type RunningServer, useSpawnedServers } from './support/server-process.js';

useSpawnedServers();

/**
 * Issue 9 §1: the reference page at /docs used as a person uses it, in Debian's
 * Chromium driven by playwright-core, against the real server process. For one
 * operation of every tag: expand it, "Try it out", fill in the form, "Execute",
 * and read the status and body the page shows. Admin writes run after
 * "Authorize" with a token the page's own login returned, and the authorization
 * must survive a reload. Every wait is on a page element or a network response.
 */

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = { username: 'docs-admin', password: 'docs-admin-password' };
// What the page's Swagger UI calls each tag's section: `operations-<tag>-<operationId>`.
const TAGS = ['auth', 'products', 'cart', 'checkout', 'orders', 'promo-codes'];

// Spawned servers need a PostgreSQL server (see the README's Tests section), as in CI.
describe.skipIf(!serverUrl())('the API reference at /docs in Chromium', () => {
  let db: EmptyDatabase;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const offOrigin: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: this test drives Debian's chromium package, which .ci/run installs (apt-get install chromium)`);
    }
    db = await createEmptyDatabase();
    server = await startServer({
      env: { DATABASE_URL: db.url, JWT_SECRET: SERVER_SECRET, ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password, SEED_DEMO_DATA: 'false' },
    });
    // Playwright gives each launch a fresh temporary profile (user data dir) and removes it on close.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage();
    // A step that cannot happen fails naming its element, well within the test's time.
    page.setDefaultTimeout(30_000);
    // The machine has no internet, and the page must need none: every request it makes goes to this server.
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${server.baseUrl}/`) && !url.startsWith('data:')) offOrigin.push(url);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, SPAWNED_TEST_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await db?.drop();
  });

  it('runs one operation of every tag with Try it out, including admin writes after Authorize, and keeps the token across a reload', async () => {
    await page.goto(`${server.baseUrl}/docs/`);
    expect(await tagsShown(page)).toEqual(TAGS);
    expect(await page.locator('.info .description').innerText()).toMatch(/Authorize, paste the token/);

    // auth: the admin logs in through the page; the token is read from the response it shows.
    const login = await tryItOut(page, 'auth', 'auth-login', { body: ADMIN });
    expect(login.status).toBe(200);
    expect(login.shownBody.user).toMatchObject({ username: ADMIN.username, role: 'admin' });
    await authorize(page, login.shownBody.accessToken as string);

    // products: an admin write with the body the page prefills (issue 9: it had price 0), then the list with page=1
    // (the reported failure).
    const created = await tryItOut(page, 'products', 'products-create', {});
    expect(created.status).toBe(201);
    const { name, price, stock } = created.sentBody as { name: string; price: number; stock: number };
    expect(created.shownBody).toMatchObject({ name, price, stock });
    const product = created.shownBody as { id: string };

    const list = await tryItOut(page, 'products', 'products-list', { query: { page: '1' } });
    expect(list.status).toBe(200);
    expect(new URL(list.requestUrl).searchParams.get('page')).toBe('1');
    expect(list.shownBody).toMatchObject({ page: 1, total: 1, items: [{ id: product.id }] });

    // promo-codes: a second admin write, with the prefilled body too; the code is redeemed at checkout below.
    const promo = await tryItOut(page, 'promo-codes', 'promoCodes-create', {});
    expect(promo.status).toBe(201);
    const { code } = promo.sentBody as { code: string };
    expect(promo.shownBody).toMatchObject({ code: code.toUpperCase(), redemptions: 0 });

    // cart
    const cart = await tryItOut(page, 'cart', 'cart-addItem', { body: { productId: product.id, quantity: 2 } });
    expect(cart.status).toBe(200);
    expect(cart.shownBody).toMatchObject({ items: [{ productId: product.id, quantity: 2 }] });

    // checkout, with the optional header filled in as the form offers it
    const order = await tryItOut(page, 'checkout', 'checkout-submit', { header: { 'Idempotency-Key': 'docs-order-1' }, body: { promoCode: code } });
    expect(order.status).toBe(201);
    expect(order.shownBody).toMatchObject({ promoCode: code.toUpperCase(), items: [{ productId: product.id, quantity: 2 }] });

    // orders
    const orders = await tryItOut(page, 'orders', 'orders-list', { query: { page: '1' } });
    expect(orders.status).toBe(200);
    expect(orders.shownBody).toMatchObject({ page: 1, total: 1, items: [{ id: (order.shownBody as { id: string }).id }] });

    // A reload keeps the authorization: the Authorize button shows it, and a protected call sends it.
    await page.reload();
    expect(await tagsShown(page)).toEqual(TAGS);
    await page.locator('.auth-wrapper .authorize.locked').waitFor();
    const me = await tryItOut(page, 'auth', 'auth-me', {});
    expect(me.status).toBe(200);
    expect(me.shownBody).toMatchObject({ username: ADMIN.username, role: 'admin' });

    expect(offOrigin).toEqual([]);
    expect(pageErrors).toEqual([]);
    // Swagger UI spends about a second of renderer CPU per operation it expands: some 20 s in all on an idle
    // two-core machine, more while other test files run beside it.
  }, 180_000);
});

/** Waits for the page to render the document, then lists its tag sections. */
async function tagsShown(page: Page): Promise<string[]> {
  await page.locator('.opblock-tag-section').first().waitFor();
  return page.locator('.opblock-tag-section .opblock-tag').evaluateAll((tags) => tags.map((tag) => tag.getAttribute('data-tag') ?? ''));
}

interface Form {
  query?: Record<string, string>;
  header?: Record<string, string>;
  body?: unknown;
}

interface Outcome {
  /** The status the page shows for the live response. */
  status: number;
  /** The response body the page shows, parsed; it must equal what the server sent. */
  shownBody: Record<string, unknown>;
  /** The URL the page shows it requested. */
  requestUrl: string;
  /** The request body as the form held it when Execute was clicked (filled in, or the page's prefilled example). */
  sentBody: unknown;
}

/** Expand the operation, "Try it out", fill the form, "Execute", and read what the page shows. */
async function tryItOut(page: Page, tag: string, operationId: string, form: Form): Promise<Outcome> {
  const operation = page.locator(`[id="operations-${tag}-${operationId}"]`);
  const body = operation.locator('.opblock-body');
  await operation.locator('.opblock-summary').click();
  await operation.getByRole('button', { name: 'Try it out' }).click();

  for (const [where, values] of [['query', form.query], ['header', form.header]] as const) {
    for (const [name, value] of Object.entries(values ?? {})) {
      await parameterInput(operation, where, name).fill(value);
    }
  }
  const bodyField = operation.locator('textarea.body-param__text');
  if (form.body !== undefined) await bodyField.fill(JSON.stringify(form.body, null, 2));
  const sentBody: unknown = (await bodyField.count()) > 0 ? JSON.parse(await bodyField.inputValue()) : undefined;

  const [method, path] = await Promise.all([
    operation.locator('.opblock-summary-method').innerText(),
    operation.locator('.opblock-summary-path').getAttribute('data-path'),
  ]);
  const pathPattern = new RegExp(`^${path!.replace(/\{[^}]+\}/g, '[^/]+')}$`);
  const served = page.waitForResponse((response) => response.request().method() === method && pathPattern.test(new URL(response.url()).pathname));
  // Swagger UI refuses to send a form it judges invalid and says why on the page (issue 9: page=1 on GET /api/products).
  const refusal = operation.locator('.validation-errors');
  const [response] = await Promise.all([
    Promise.race([served, refusal.waitFor().then(() => undefined)]),
    operation.getByRole('button', { name: 'Execute' }).click(),
  ]);
  if (!response) throw new Error(`the page did not send ${method} ${path}: ${await refusal.innerText()}`);

  const live = operation.locator('.live-responses-table .response');
  const shownStatus = await live.locator('.response-col_status').innerText();
  const shownText = await live.locator('.response-col_description .highlight-code pre').innerText();
  const requestUrl = await operation.locator('.request-url pre').innerText();
  const sent: unknown = await response.json();
  const shownBody = JSON.parse(shownText) as Record<string, unknown>;
  expect(Number(shownStatus), `the status the page shows for ${method} ${path}`).toBe(response.status());
  expect(shownBody, `the body the page shows for ${method} ${path}`).toEqual(sent);
  // Collapsed again, as a person leaves it: Swagger UI re-renders every open operation on each change.
  await operation.locator('.opblock-summary').click();
  await body.waitFor({ state: 'detached' });
  return { status: Number(shownStatus), shownBody, requestUrl, sentBody };
}

function parameterInput(operation: Locator, where: 'query' | 'header', name: string): Locator {
  return operation.locator(`tr[data-param-name="${name}"][data-param-in="${where}"] input`);
}

/** Authorize with a bearer token as a person does: the button, the dialog's field, Authorize, Close. */
async function authorize(page: Page, token: string): Promise<void> {
  await page.locator('.auth-wrapper .authorize').click();
  const dialog = page.locator('.modal-ux');
  await dialog.locator('.auth-container input').fill(token);
  // The dialog's Authorize button is labelled "Apply credentials" for assistive technology.
  await dialog.getByRole('button', { name: 'Apply credentials' }).click();
  await dialog.getByRole('button', { name: 'Close' }).click();
  await page.locator('.auth-wrapper .authorize.locked').waitFor();
}
