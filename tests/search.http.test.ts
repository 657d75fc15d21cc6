import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpHarness, expectErrorEnvelope, type HttpHarness } from './support/harness.js';

let h: HttpHarness;
let admin: string;
const ids: Record<string, string> = {};

const CATALOG: Record<string, Record<string, unknown>> = {
  trail: {
    name: 'Trail Running Shoe',
    description: 'Light shoe with a grippy sole.',
    category: 'footwear',
    price: 89.99,
    stock: 5,
    attributes: { brand: 'Kestrel', color: 'Blue', waterproof: true, size: 42 },
  },
  road: { name: 'Road Shoe', description: 'Cushioned for running on asphalt.', category: 'footwear', price: 59, stock: 2, attributes: { brand: 'Northwind' } },
  socks: { name: 'Running Socks', description: 'Merino wool socks.', category: 'apparel', price: 5, stock: 0 },
  beans: { name: 'Runner Bean Seeds', description: 'Climbing beans for the vegetable patch.', category: 'garden', price: 2.5, stock: 40 },
  giftCard: { name: 'Gift Card', description: 'Use it for a running shoe, or for anything else.', category: null, price: 25, stock: 1000 },
  torch: { name: 'Crème Brûlée Torch', description: 'Caramelise sugar like a pro.', category: 'kitchen', price: 24.5, stock: 3, attributes: { brand: 'Ñandú' } },
  greek: { name: 'Ελληνικά Βιβλία', description: 'Βιβλία για παιδιά.', category: 'books', price: 12, stock: 1 },
  tokyo: { name: '東京 Travel Guide', description: 'City walks and food.', category: 'books', price: 18, stock: 1, attributes: { language: '日本語' } },
  phantom: { name: 'Phantom Running Shoe', description: 'Deleted before the tests run.', category: 'footwear', price: 10, stock: 1 },
};

beforeAll(async () => {
  h = await createHttpHarness();
  admin = (await h.createUser({ role: 'admin' })).token;
  for (const [key, json] of Object.entries(CATALOG)) {
    const res = await h.request('/api/products', { method: 'POST', token: admin, json });
    expect(res.status).toBe(201);
    ids[key] = res.body.id;
  }
  expect((await h.request(`/api/products/${ids.phantom}`, { method: 'DELETE', token: admin })).status).toBe(204);
});
afterAll(() => h.close());

async function search(q: string, extra = '') {
  const res = await h.request(`/api/products/search?page=1&limit=100&q=${encodeURIComponent(q)}${extra}`);
  expect(res.status).toBe(200);
  expect(res.body.total).toBe(res.body.items.length);
  return res.body.items.map((p: { id: string }) => Object.keys(ids).find((key) => ids[key] === p.id)) as string[];
}

const sortedById = (...keys: string[]) => [...keys].sort((a, b) => (ids[a]! < ids[b]! ? -1 : 1));

describe('GET /api/products/search: matching', () => {
  it('returns a page of products in the contract shape', async () => {
    const res = await h.request('/api/products/search?page=1&q=torch');
    expect(res.body).toEqual({
      page: 1,
      limit: 20,
      total: 1,
      items: [expect.objectContaining({ id: ids.torch, name: 'Crème Brûlée Torch', price: 24.5, currency: 'EUR', attributes: { brand: 'Ñandú' } })],
    });
  });

  it('ignores case and accents, on both sides', async () => {
    expect(await search('TRAIL')).toEqual(['trail']);
    expect(await search('creme brulee')).toEqual(['torch']);
    expect(await search('CRÈME BRÛLÉE')).toEqual(['torch']);
    expect(await search('nandu')).toEqual(['torch']);
    expect(await search('caramelisé')).toEqual(['torch']);
  });

  it('matches non-Latin words the same way on every database', async () => {
    expect(await search('ελληνικά')).toEqual(['greek']);
    expect(await search('ΕΛΛΗΝΙΚΑ')).toEqual(['greek']);
    expect(await search('βιβλια παιδια')).toEqual(['greek']);
    expect(await search('東京')).toEqual(['tokyo']);
    expect(await search('日本語')).toEqual(['tokyo']);
    expect(await search('東')).toEqual(['tokyo']);
  });

  it('matches whole words, the last word also as a prefix', async () => {
    expect(await search('runn')).toEqual(expect.arrayContaining(['trail', 'road', 'socks', 'beans', 'giftCard']));
    expect(await search('runn')).toHaveLength(5);
    expect(await search('grip')).toEqual(['trail']);
    expect(await search('grip shoe')).toEqual([]);
    expect(await search('runn shoe')).toEqual([]);
    expect(await search('shoe runn')).toEqual(['trail', 'road', 'giftCard']);
    expect(await search('bean')).toEqual(['beans']);
    expect(await search('beans seed')).toEqual(['beans']);
  });

  it('requires every word, each of which may match a different field', async () => {
    expect(await search('trail asphalt')).toEqual([]);
    expect(await search('kestrel grippy footwear')).toEqual(['trail']);
    expect(await search('blue kestrel shoe')).toEqual(['trail']);
    expect(await search('footwear')).toEqual(expect.arrayContaining(['trail', 'road']));
  });

  it('matches string and number attribute values, not booleans', async () => {
    expect(await search('kestrel')).toEqual(['trail']);
    expect(await search('42')).toEqual(['trail']);
    expect(await search('true')).toEqual([]);
    expect(await search('waterproof')).toEqual([]);
  });

  it('ranks name matches above matches found only elsewhere, then by id', async () => {
    expect(await search('running')).toEqual([...sortedById('trail', 'socks'), ...sortedById('road', 'giftCard')]);
    expect(await search('shoe running')).toEqual(['trail', 'road', 'giftCard']);
    expect(await search('running shoe')).toEqual(['trail', 'road', 'giftCard']);
  });

  it('answers a query without letters or digits, or without matches, with an empty page', async () => {
    for (const q of ['!!!', '-- ... --', '¿?', 'zzzqqq']) {
      const res = await h.request(`/api/products/search?page=2&limit=5&q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ page: 2, limit: 5, total: 0, items: [] });
    }
  });

  it('never finds deleted products', async () => {
    expect(await search('phantom')).toEqual([]);
    expect(await search('deleted')).toEqual([]);
  });

  it('finds renamed products under their new name only', async () => {
    const put = await h.request(`/api/products/${ids.beans}`, {
      method: 'PUT',
      token: admin,
      json: { ...CATALOG.beans, name: 'Climbing Pea Seeds', stock: 40 },
    });
    expect(put.status).toBe(200);
    expect(await search('pea')).toEqual(['beans']);
    expect(await search('runner')).toEqual([]);
    await h.request(`/api/products/${ids.beans}`, { method: 'PUT', token: admin, json: { ...CATALOG.beans } });
    expect(await search('runner')).toEqual(['beans']);
  });
});

describe('GET /api/products/search: filters and pagination', () => {
  it('applies the list filters', async () => {
    expect(await search('runn', '&category=APPAREL')).toEqual(['socks']);
    expect(await search('runn', '&inStock=false')).toEqual(['socks']);
    expect(await search('runn', '&inStock=true&maxPrice=25')).toEqual(expect.arrayContaining(['beans', 'giftCard']));
    expect(await search('runn', '&minPrice=59&maxPrice=89.99')).toEqual(['trail', 'road']);
  });

  it('walks the result pages: every match exactly once, with the full total on every page', async () => {
    const all = await search('runn');
    const walked: string[] = [];
    for (let page = 1; page <= 6; page++) {
      const res = await h.request(`/api/products/search?q=runn&page=${page}&limit=2`);
      expect(res.body).toMatchObject({ page, limit: 2, total: 5 });
      walked.push(...res.body.items.map((p: { id: string }) => Object.keys(ids).find((key) => ids[key] === p.id)));
    }
    expect(walked).toEqual(all);
  });

  it('ignores sort and unknown parameters', async () => {
    expect(await search('running', '&sort=price_asc&foo=bar')).toEqual(await search('running'));
  });

  it.each([
    ['page=1', 'q'],
    ['page=1&q=', 'q'],
    ['page=1&q=%20%20%20', 'q'],
    [`page=1&q=${'a'.repeat(101)}`, 'q'],
    ['page=1&q=a&q=b', 'q'],
    ['q=shoe', 'page'],
    ['q=shoe&page=0', 'page'],
    ['q=shoe&page=1&limit=101', 'limit'],
    ['q=shoe&page=1&minPrice=5&maxPrice=4', 'minPrice'],
    ['q=shoe&page=1&inStock=maybe', 'inStock'],
  ])('rejects ?%s naming %s', async (query, field) => {
    const error = expectErrorEnvelope(await h.request(`/api/products/search?${query}`), 400, 'VALIDATION_ERROR');
    expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('says what is wrong with q', async () => {
    const missing = expectErrorEnvelope(await h.request('/api/products/search?page=1'), 400, 'VALIDATION_ERROR');
    expect(missing.details).toEqual([{ field: 'q', message: 'Required' }]);
    const blank = expectErrorEnvelope(await h.request('/api/products/search?page=1&q=%20'), 400, 'VALIDATION_ERROR');
    expect(blank.details).toEqual([{ field: 'q', message: 'Required' }]);
    const long = expectErrorEnvelope(await h.request(`/api/products/search?page=1&q=${'a'.repeat(101)}`), 400, 'VALIDATION_ERROR');
    expect(long.details).toEqual([{ field: 'q', message: 'Must be at most 100 characters' }]);
  });

  it('accepts 100 characters after trimming', async () => {
    const res = await h.request(`/api/products/search?page=1&q=${encodeURIComponent(`  ${'a'.repeat(100)}  `)}`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(0);
  });
});
