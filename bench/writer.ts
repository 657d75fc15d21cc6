import { call, describeAnswer, isMissingRoute } from './load.js';
import { FeatureUnavailable } from './shoppers.js';

export interface WriterResult {
  edits: number;
  failures: number;
}

export interface PriceWriter {
  stop(): Promise<WriterResult>;
}

interface ProductBody {
  name: string;
  description: string;
  price: number;
  imageUrl: string | null;
  category: string | null;
  stock: number;
  attributes: Record<string, string | number | boolean>;
}

export async function adminToken(baseUrl: string, username: string, password: string): Promise<string> {
  const login = await call(baseUrl, { method: 'POST', path: '/api/auth/login', body: { username, password } });
  if (login.status !== 200) throw new Error(`admin login answered ${describeAnswer(login)}`);
  return (login.body as { accessToken: string }).accessToken;
}

/**
 * An admin moving one product's price by a cent and back, `perSecond` times a
 * second, through PUT /api/products/{id}: the kind of write a live catalog sees,
 * and one that changes list and search results (price order, price filters).
 */
export async function startPriceEdits(baseUrl: string, token: string, productId: string, perSecond: number): Promise<PriceWriter> {
  const path = `/api/products/${productId}`;
  const current = await call(baseUrl, { method: 'GET', path });
  if (current.status !== 200) throw new Error(`GET ${path} answered ${describeAnswer(current)}`);
  const { name, description, price, imageUrl, category, stock, attributes } = current.body as ProductBody;
  const base = { name, description, imageUrl, category, stock, attributes };
  const cents = Math.round(price * 100);

  const first = await call(baseUrl, { method: 'PUT', path, token, body: { ...base, price: (cents + 1) / 100 } });
  if (isMissingRoute(first)) throw new FeatureUnavailable(`PUT ${path}: ${describeAnswer(first)}`);

  const result: WriterResult = { edits: first.status === 200 ? 1 : 0, failures: first.status === 200 ? 0 : 1 };
  let stopped = false;
  const loop = (async () => {
    for (let edit = 1; !stopped; edit++) {
      await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
      if (stopped) break;
      const answer = await call(baseUrl, { method: 'PUT', path, token, body: { ...base, price: (cents + (edit % 2 === 0 ? 1 : 0)) / 100 } }).catch(() => undefined);
      if (answer?.status === 200) result.edits += 1;
      else result.failures += 1;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return result;
    },
  };
}
