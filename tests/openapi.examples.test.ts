import { randomUUID } from 'node:crypto';
import { forEachOpenApiProcedure } from 'trpc-to-openapi';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../src/routers/_app.js';
import { authOutput, userOutput } from '../src/routers/auth/schemas.js';
import { cartOutput } from '../src/routers/cart/schemas.js';
import { orderOutput } from '../src/routers/orders/schemas.js';
import { productOutput } from '../src/routers/products/schemas.js';
import { promoCodeOutput } from '../src/routers/promo-codes/schemas.js';
import type { ProcedureMeta } from '../src/trpc.js';
import type { HttpHarness } from './support/harness.js';
import { operationsOf, serveOpenApiDocument, type OpenApiDocument, type SchemaValidator } from './support/openapi-document.js';

/** Examples a person trying the API meets in /docs are accepted by the server, and everything is described. */

let h: HttpHarness;
let doc: OpenApiDocument;
let validate: SchemaValidator;

beforeAll(async () => ({ h, doc, validate } = await serveOpenApiDocument()));
afterAll(() => h.close());

/** The zod input of the procedure serving each REST route. */
function inputSchemas(): Map<string, z.ZodType> {
  const inputs = new Map<string, z.ZodType>();
  forEachOpenApiProcedure<ProcedureMeta>(appRouter._def.procedures, ({ meta, procedure }) => {
    const [input] = (procedure as unknown as { _def: { inputs: z.ZodType[] } })._def.inputs;
    if (input) inputs.set(`${meta.openapi.method} ${meta.openapi.path}`, input);
  });
  return inputs;
}

describe('request body examples', () => {
  it('every operation with a body prefills an example that its own input schema accepts', () => {
    const inputs = inputSchemas();
    const withBodies = operationsOf(doc).filter(({ operation }) => operation.requestBody);
    expect(withBodies.length).toBe(10);
    for (const { method, path, operation } of withBodies) {
      const where = `${method} ${path}`;
      const media = operation.requestBody!.content['application/json']!;
      const example = media.example ?? (media.schema!.examples as unknown[] | undefined)?.[0];
      expect(example, where).toBeDefined();
      expect(validate(media.schema!, example), where).toEqual([]);
      // The REST adapter merges path values into the body before the input schema runs.
      const pathValues = Object.fromEntries([...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name!, randomUUID()]));
      const parsed = inputs.get(where)!.safeParse({ ...(example as object), ...pathValues });
      expect(parsed.success, `${where}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    }
  });

  it('the prefilled product is created as is by the server (the old example had price 0)', async () => {
    const { token } = await h.createUser({ role: 'admin' });
    const example = operationsOf(doc).find(({ method, path }) => method === 'POST' && path === '/api/products')!.operation.requestBody!.content['application/json']!.example;
    const res = await h.request('/api/products', { method: 'POST', token, json: example });
    expect(res.status, res.text).toBe(201);
  });
});

describe('response examples', () => {
  const OUTPUTS: [string, z.ZodType][] = [
    ['Product', productOutput],
    ['Cart', cartOutput],
    ['Order', orderOutput],
    ['PromoCode', promoCodeOutput],
    ['User', userOutput],
    ['AuthSession', authOutput],
  ];

  it.each(OUTPUTS)('%s has an example the output check and the document accept', (name, output) => {
    const schema = doc.components.schemas[name]!;
    const [example] = schema.examples as unknown[];
    expect(output.safeParse(example).success).toBe(true);
    expect(validate({ $ref: `#/components/schemas/${name}` }, example)).toEqual([]);
  });
});

describe('descriptions', () => {
  it('every operation has a summary and a description', () => {
    for (const { method, path, operation } of operationsOf(doc)) {
      expect(operation.summary, `${method} ${path}`).toMatch(/\w/);
      expect(operation.description, `${method} ${path}`).toMatch(/\w/);
    }
  });

  it('every parameter has a description', () => {
    for (const { method, path, operation } of operationsOf(doc)) {
      for (const parameter of operation.parameters ?? []) expect(parameter.description, `${method} ${path} ${parameter.name}`).toMatch(/\w/);
    }
  });

  it('every tag an operation uses is declared with a description, and none is unused', () => {
    const used = new Set(operationsOf(doc).flatMap(({ operation }) => operation.tags ?? []));
    expect(new Set(doc.tags!.map((tag) => tag.name))).toEqual(used);
    for (const tag of doc.tags!) expect(tag.description, tag.name).toMatch(/\w/);
  });
});
