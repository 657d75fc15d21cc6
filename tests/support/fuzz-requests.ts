import fc from 'fast-check';
import { Big, fromSchema, hostileString, hostileValue, RawJson, toJsonText, type SchemaHints } from './fuzz-values.js';

/**
 * What the fuzzers know that a schema cannot say: which ids exist (so a share of the
 * requests reach real rows and writes really happen), and who calls.
 */

export type IdKind = 'product' | 'promo' | 'item' | 'order' | 'code' | 'category';

/** A reference to the n-th known id of a kind, resolved when the request is sent (the pool grows as writes succeed). */
export class IdRef {
  constructor(
    readonly kind: IdKind,
    readonly index: number,
    /** A known id written differently: upper-case, or with surrounding whitespace. */
    readonly variant: 'as-is' | 'upper' | 'padded' = 'as-is',
  ) {}
  toString(): string {
    return `<${this.kind} #${this.index}${this.variant === 'as-is' ? '' : ` ${this.variant}`}>`;
  }
}

export class IdPool {
  private readonly ids = new Map<IdKind, string[]>();
  add(kind: IdKind, id: unknown): void {
    if (typeof id !== 'string') return;
    const list = this.ids.get(kind) ?? [];
    if (!list.includes(id)) list.push(id);
    this.ids.set(kind, list);
  }
  pick(kind: IdKind, index: number): string {
    const list = this.ids.get(kind) ?? [];
    return list.length === 0 ? '00000000-0000-4000-8000-000000000000' : list[index % list.length]!;
  }
  /** Replaces every IdRef in a generated value by the id it names. */
  resolve(value: unknown): unknown {
    if (value instanceof IdRef) {
      const id = this.pick(value.kind, value.index);
      return value.variant === 'upper' ? id.toUpperCase() : value.variant === 'padded' ? ` ${id} ` : id;
    }
    if (value instanceof Big) return value.toString();
    if (value instanceof RawJson || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) Object.defineProperty(out, key, { value: this.resolve(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
}

/** Path ids: known ones, unknown UUIDs, and strings that are no UUID at all. */
export const pathIdArb = (kind: IdKind): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.nat().map((i) => new IdRef(kind, i)) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.constantFrom('upper' as const, 'padded' as const)).map(([i, variant]) => new IdRef(kind, i, variant)) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom('0', '-1', 'null', 'undefined', '..', '.', '%', '%00', '%2F', 'a%2Fb', '%E0%A4%A', '%ED%A0%80', '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', ' 1', '1e400', '9'.repeat(40)),
        hostileString.filter((s) => String(s).length > 0),
      ),
    },
  );

/** Which pool a field name draws from, and plausible values for query parameters the document types loosely. */
export function hintsFor(procedure: string, hostility: number): SchemaHints {
  const idKind: IdKind = procedure.startsWith('promoCodes.') ? 'promo' : procedure.startsWith('orders.') ? 'order' : 'product';
  const ref = (kind: IdKind) => fc.oneof({ weight: 8, arbitrary: fc.nat().map((i) => new IdRef(kind, i)) }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostileValue });
  const hints: SchemaHints = {
    hostility,
    forProperty(name) {
      switch (name) {
        case 'id':
          return pathIdArb(idKind);
        case 'itemId':
          return pathIdArb('item');
        case 'productId':
          return ref('product');
        case 'code':
          return procedure === 'cart.applyPromoCode' ? fc.oneof({ weight: 4, arbitrary: fc.nat().map((i) => new IdRef('code', i)) }, { weight: 1, arbitrary: fromSchema({ type: 'string' }, { hostility }) }) : undefined;
        case 'promoCode':
          return fc.oneof(fc.nat().map((i) => new IdRef('code', i)), fc.constant(null), hostileValue);
        case 'page':
          return fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 2, arbitrary: hostileValue });
        case 'limit':
          return fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 100 }) }, { weight: 2, arbitrary: hostileValue });
        case 'minPrice':
        case 'maxPrice':
          return fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 50_000 }).map((c) => c / 100) }, { weight: 2, arbitrary: hostileValue });
        case 'inStock':
          return fc.oneof({ weight: 8, arbitrary: fc.boolean() }, { weight: 2, arbitrary: hostileValue });
        case 'category':
          return procedure.endsWith('.list') || procedure.endsWith('.search')
            ? fc.oneof({ weight: 6, arbitrary: fc.nat().map((i) => new IdRef('category', i)) }, { weight: 2, arbitrary: hostileValue })
            : undefined;
        case 'q':
          return fc.oneof({ weight: 6, arbitrary: fc.constantFrom('shoe', 'Fuzz', 'blue', 'runn', 'café', 'x y') }, { weight: 3, arbitrary: hostileValue });
        case 'password':
          return fc.oneof({ weight: 6, arbitrary: fc.constantFrom('correct horse battery', 'password123') }, { weight: 2, arbitrary: fromSchema({ type: 'string', minLength: 8, maxLength: 72 }, { hostility: 0 }) }, { weight: 2, arbitrary: hostileValue });
        default:
          return undefined;
      }
    },
  };
  return hints;
}

/** A query parameter's value as a client writes it in a URL. */
export function queryText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Big) return value.toString();
  if (value instanceof RawJson) return value.text;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return toJsonText(value);
}

export type Caller = 'admin' | 'customer' | 'anonymous' | 'bad-token';

/** Mostly callers with the right role, so that the route's real work runs; now and then the wrong one. */
export const callerArb = (access: 'public' | 'user' | 'admin'): fc.Arbitrary<Caller> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom<Caller>(...(access === 'admin' ? (['admin'] as const) : (['admin', 'customer'] as const))) },
    { weight: 1, arbitrary: fc.constantFrom<Caller>('anonymous', 'bad-token', 'customer') },
  );

/** Content-Types a body may arrive with. */
export const contentTypeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'APPLICATION/JSON',
      'application/json;charset=latin1',
      'application/json; charset=utf-16',
      'application/jsonx',
      'application/merge-patch+json',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      '*/*',
      '',
    ),
  },
);

/** A header value a client can put on the wire (fetch accepts bytes 0x20–0xFF). */
export const headerTextArb = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 12 }).map((s) => `k${s}k`),
  fc.constantFrom('a'.repeat(256), 'a'.repeat(129), 'x y', 'é', '-', '.', '_'),
);

/** A body as raw text that is not a JSON object: broken, a scalar, an array, a BOM, too big. */
export const rawBodyArb: fc.Arbitrary<string | Big> = fc.constantFrom<string | Big>(
  '{',
  '}',
  '[]',
  '[{}]',
  '"text"',
  'null',
  '1',
  'true',
  '{"a":1,}',
  "{'a':1}",
  '\ufeff{}',
  '{"a":1}{"b":2}',
  '{"__proto__":{"role":"admin"}}',
  '{"constructor":{"prototype":{"x":1}}}',
  new Big('x', 110_000, '{"name":"', '"}'),
  ' ',
  '\u0000',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  new Big('[', 50_000),
  new Big('{"a":', 10_000, '', '1'),
);

export type Json = Record<string, unknown>;
export const isJsonObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
