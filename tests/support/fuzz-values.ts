import fc from 'fast-check';

/**
 * Values for the schema-driven fuzzers (tests/fuzz.*.test.ts): arbitraries built from
 * a JSON Schema (the served OpenAPI document, or a procedure's Zod input converted
 * with z.toJSONSchema), mostly valid so that writes really happen, mixed with
 * hostile values of every class a client can send.
 */

export type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  description?: string;
  default?: unknown;
  $ref?: string;
};

/** JSON text written verbatim into a body: what JSON.stringify cannot produce (1e400) or would recurse on (deep nesting). */
export class RawJson {
  constructor(
    private readonly build: () => string,
    private readonly label: string,
  ) {}
  get text(): string {
    return this.build();
  }
  [fc.toStringMethod](): string {
    return this.label;
  }
}

/** A JSON number beyond what a JS number carries: 1e400, 123456789012345678901234567890. */
export const rawNumber = (text: string) => new RawJson(() => text, `RawNumber(${text})`);

/** JSON text of a value, RawJson written verbatim (and never recursed into). */
export function toJsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) {
      raws.push(v.text);
      return `\u0001raw${raws.length - 1}\u0001`;
    }
    return v;
  });
  if (text === undefined) return 'null';
  return text.replace(/"\\u0001raw(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]!);
}

/**
 * Percent-encoding that also carries lone surrogates (encodeURIComponent throws on
 * them): as the 3-byte sequences a careless client would send (CESU-8), which are
 * not valid UTF-8.
 */
export function percentEncode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const isHigh = unit >= 0xd800 && unit <= 0xdbff;
    const next = text.charCodeAt(i + 1);
    if (isHigh && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(text.slice(i, i + 2));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else out += encodeURIComponent(text[i]!);
  }
  return out;
}

/**
 * A long string that prints short in fast-check's counterexamples (`"x".repeat(120000)`):
 * it becomes the real text wherever it is used (String(), JSON, template literals).
 */
export class Big {
  constructor(
    readonly unit: string,
    readonly count: number,
    readonly prefix = '',
    readonly suffix = '',
  ) {}
  toString(): string {
    return this.prefix + this.unit.repeat(this.count) + this.suffix;
  }
  toJSON(): string {
    return this.toString();
  }
  [fc.toStringMethod](): string {
    return `${this.prefix ? `${JSON.stringify(this.prefix)} + ` : ''}${JSON.stringify(this.unit)}.repeat(${this.count})${this.suffix ? ` + ${JSON.stringify(this.suffix)}` : ''}`;
  }
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));
const oddChar = fc.oneof(
  // The classes that break things most often first: NUL (PostgreSQL text refuses it) and lone surrogates (not UTF-8).
  { weight: 3, arbitrary: fc.constant('\u0000') },
  { weight: 3, arbitrary: loneSurrogate },
  { weight: 2, arbitrary: fc.constantFrom('😀', '𝔘', '\u{10ffff}', '👩‍👩‍👧') },
  { weight: 3, arbitrary: fc.constantFrom('\u0001', '\u001f', '\u007f', '\u00a0', '\u200b', '\u2028', '\u202e', '\ufeff', '\ufffd', '\uffff', '%', '%00', '\\', '"', "'", '<', '&', '\n', '\t', ' ') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/** Strings of every hostile class: control and invisible characters, lone surrogates, astral characters, huge lengths, look-alike numbers. */
export const hostileString: fc.Arbitrary<string | Big> = fc.oneof(
  fc.tuple(fc.string({ maxLength: 4 }), oddChar, fc.string({ maxLength: 4 })).map(([a, c, b]) => a + c + b),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: oddChar, minLength: 1, maxLength: 6 }),
  fc.constantFrom('', ' ', '   ', '\t\n', 'null', 'undefined', 'true', 'NaN', '-NaN', 'Infinity', '-Infinity', '1e400', '0x10', '1_000', ' 1', '1 ', '+1', '-0', '00', '1.', '.5', '1e-9', '١٢', '１', '9007199254740993'),
  fc.constantFrom('../../etc/passwd', '%2e%2e%2f', "' or 1=1 --", '"; drop table users; --', '${jndi:ldap://x}', '{{7*7}}', '<script>', '__proto__', 'constructor'),
  fc.constantFrom(33, 257, 5_001, 120_000).map((n) => new Big('x', n)),
  fc.constantFrom(17, 101, 2_001).map((n) => new Big('😀', n)),
);

/** Numbers at and beyond every bound the contract names, fractions that money refuses, and JSON numbers JS cannot hold. */
export const hostileNumber: fc.Arbitrary<number | RawJson> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1e-9, 0.1 + 0.2, 1.005, 19.999, 0.001, 99, 100, 101, 1_000_000, 1_000_000.01, 1_000_001, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e300, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 5e-324),
  fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '1.0000000000000000000001', '0.0000000000000000000001', '1E2', '-0.0', '1e-400').map(rawNumber),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Arrays or objects nested deeper than any schema: parsers, validators and loggers recurse on them. */
export const deepNesting: fc.Arbitrary<unknown> = fc
  .tuple(fc.constantFrom(64, 1_000, 10_000, 50_000), fc.boolean())
  .map(([depth, asObject]) =>
    asObject
      ? new RawJson(() => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), `deep object (${depth})`)
      : new RawJson(() => '['.repeat(depth) + '1' + ']'.repeat(depth), `deep array (${depth})`),
  );

/** Any JSON value, hostile or not: the wrong type for whatever field it lands in. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [null], { '': 1 }, JSON.parse('{"__proto__":{"role":"admin"}}') as unknown, ['a', 'b']) },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Field names a body should not have: typos, prototype keys, and names of path parameters or server-owned fields. */
export const unknownFieldName = fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'itemId', 'userId', 'role', 'createdAt', 'redemptions', 'Name', 'name ', '', '\u0000', 'x'.repeat(70), 'extra');

const wordish = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,14}[A-Za-z0-9]$/);

function plausibleNumber(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + (integer ? 1 : 0.01) : integer ? 0 : 0.01);
  const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - (integer ? 1 : 0.01) : Math.max(min, integer ? 1_000 : 1_000));
  const lo = Math.max(min, -1_000_000);
  const hi = Math.min(max, 1_000_000);
  const ints = fc.integer({ min: Math.ceil(lo), max: Math.max(Math.ceil(lo), Math.floor(hi)) });
  const bounds = [schema.minimum, schema.maximum].filter((v): v is number => v !== undefined);
  const candidates: fc.Arbitrary<number>[] = [ints];
  if (!integer) {
    // Money: cents as a JSON number with at most 2 decimals, and decimals whose float arithmetic misleads (0.07 × 100 = 7.000000000000001).
    candidates.push(fc.integer({ min: Math.ceil(lo * 100), max: Math.max(Math.ceil(lo * 100), Math.floor(Math.min(hi, 10_000) * 100)) }).map((c) => c / 100));
    candidates.push(fc.constantFrom(0.07, 0.29, 1.13, 4.35, 8.2, 1.15, 2.675, 1.005, 0.1 + 0.2, 19.999, 1e-7, 123_456.78, 999_999.99, 1_000_000, 1_000_000.01).filter((v) => v >= lo && v <= hi + 0.01));
  }
  if (bounds.length > 0) candidates.push(fc.constantFrom(...bounds));
  return fc.oneof(...candidates);
}

function plausibleString(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 40, 64);
  if (schema.pattern) {
    // A pattern with its own length bound ({1,255}) is left to it; else the schema's lengths bound it.
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity));
  }
  if (/ISO 8601/.test(schema.description ?? '')) {
    return fc.oneof(
      fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom('2030-12-31T23:59:59+02:00', '2026-06-01T10:00:00.5-05:30', '20301231T235959Z', '2020-01-01T00:00:00Z'),
      // At and past the edges of what JS, PostgreSQL and the calendar hold.
      fc.constantFrom('0000-01-01T00:00:00Z', '0001-01-01T00:00:00+23:59', '9999-12-31T23:59:59-23:59', '1969-12-31T23:59:59.999Z', '1970-01-01T00:00:00.000000001Z', '2026-02-29T00:00:00Z', '2028-02-29T12:00:00Z', '2026-13-01T00:00:00Z', '2026-06-01T24:00:00Z', '2026-06-01T23:59:60Z', '+275760-09-13T00:00:00Z', '-000001-01-01T00:00:00Z', '2026-06-01T10:00:00+24:00', '2026-06-01T10:00:00'),
    );
  }
  const fits = (s: string) => s.length >= min && s.length <= (schema.maxLength ?? Infinity);
  const padded = fc.tuple(fc.constantFrom('', ' ', '  '), wordish, fc.constantFrom('', ' ', '\t')).map(([a, w, b]) => a + w + b);
  // Valid by length and trimming, hostile by content: what reaches the database.
  const tainted = fc.tuple(wordish, oddChar, wordish).map(([a, c, b]) => `${a}${c}${b}`);
  return fc.oneof(
    { weight: 5, arbitrary: padded },
    { weight: 3, arbitrary: tainted },
    { weight: 2, arbitrary: fc.string({ minLength: min, maxLength: max, unit: 'grapheme' }) },
    { weight: 1, arbitrary: fc.constantFrom('https://example.com/a.png', 'http://x.test/p?q=1', 'https://ex\u0000ample.com/', 'http://[::1]:99999/', 'https://例え.jp/画像.png') },
  ).filter(fits);
}

export interface SchemaHints {
  /** Values for a named property (ids of things that exist, known codes): what a schema cannot say. */
  forProperty?: (name: string) => fc.Arbitrary<unknown> | undefined;
  /** How often a value is replaced by a hostile one (0–1). */
  hostility: number;
}

/** An arbitrary for a JSON Schema: plausible values honouring its constraints, a share of them hostile. */
export function fromSchema(schema: JsonSchema, hints: SchemaHints, depth = 0): fc.Arbitrary<unknown> {
  const plausible = plausibleFromSchema(schema, hints, depth);
  if (hints.hostility <= 0) return plausible;
  const weight = Math.max(1, Math.round(hints.hostility * 100));
  return fc.oneof({ weight: 100 - weight, arbitrary: plausible }, { weight, arbitrary: hostileValue });
}

function plausibleFromSchema(schema: JsonSchema, hints: SchemaHints, depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return fc.oneof(...options.map((option) => fromSchema(option, hints, depth + 1)));
  if (schema.allOf) return fromSchema(Object.assign({}, ...schema.allOf) as JsonSchema, hints, depth + 1);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => plausibleFromSchema({ ...schema, type }, hints, depth)));
  switch (types[0]) {
    case 'string':
      return plausibleString(schema);
    case 'number':
      return plausibleNumber(schema, false);
    case 'integer':
      return plausibleNumber(schema, true);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(fromSchema(schema.items ?? {}, hints, depth + 1), { maxLength: 3 });
    case 'object':
      return objectFromSchema(schema, hints, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectFromSchema(schema: JsonSchema, hints: SchemaHints, depth: number): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  // Fields are mostly plausible: a request with one hostile field reaches that field's handling, one with many stops at the first.
  const fieldHints = { ...hints, hostility: hints.hostility / 4 };
  const known = Object.fromEntries(
    Object.entries(properties).map(([name, property]) => [name, hints.forProperty?.(name) ?? fromSchema(property, fieldHints, depth + 1)]),
  );
  const keys = Object.keys(properties);
  const requiredKeys = keys.filter((name) => required.has(name));
  const record = fc.record(known, { requiredKeys });
  const additional = schema.additionalProperties;
  const extraValues =
    typeof additional === 'object'
      ? fc.dictionary(schema.propertyNames ? plausibleString(schema.propertyNames) : wordish, fromSchema(additional, fieldHints, depth + 1), { maxKeys: 4 })
      : fc.constant({});
  const hostile = hints.hostility > 0;
  const unknown = hostile ? fc.option(fc.dictionary(unknownFieldName, hostileValue, { minKeys: 1, maxKeys: 2 }), { freq: 8 }) : fc.constant(null);
  const replaced = hostile && keys.length > 0 ? fc.option(fc.tuple(fc.constantFrom(...keys), hostileValue), { freq: 3 }) : fc.constant(null);
  // Now and then a required field is left out: "missing" is a class of its own.
  const dropped = hostile && requiredKeys.length > 0 ? fc.option(fc.constantFrom(...requiredKeys), { freq: 10 }) : fc.constant(null);
  return fc.tuple(record, extraValues, unknown, replaced, dropped).map(([fields, extra, stray, replace, drop]) => {
    const value: Record<string, unknown> = { ...extra, ...fields };
    if (replace) value[replace[0]] = replace[1];
    if (drop !== null) delete value[drop];
    // defineProperty: a "__proto__" key must be an own field of the JSON, not the object's prototype.
    for (const [key, v] of Object.entries(stray ?? {})) Object.defineProperty(value, key, { value: v, enumerable: true, writable: true, configurable: true });
    return value;
  });
}
