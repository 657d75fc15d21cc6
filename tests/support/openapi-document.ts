import { Ajv2020 } from 'ajv/dist/2020.js';
import { createHttpHarness, type HttpHarness } from './harness.js';

/** Reading the served OpenAPI document in tests: plain JSON, walked by path and method. */

export type JsonSchema = Record<string, unknown>;

export interface MediaType {
  schema?: JsonSchema;
  example?: unknown;
  examples?: Record<string, { summary?: string; value: unknown }>;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, { description?: string; required?: boolean; schema: JsonSchema }>;
  content?: Record<string, MediaType>;
}

export interface ParameterObject {
  in: string;
  name: string;
  required?: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface OperationObject {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
}

export const operationOf = (doc: OpenApiDocument, method: string, path: string): OperationObject => {
  const operation = doc.paths[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${path} is not documented`);
  return operation;
};

export const operationsOf = (doc: OpenApiDocument): { method: string; path: string; operation: OperationObject }[] =>
  Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );

/** The error codes a response documents: the `code` constant of each envelope it references. */
export function documentedCodes(doc: OpenApiDocument, response: ResponseObject): string[] {
  const schema = response.content?.['application/json']?.schema ?? {};
  const refs = (schema.oneOf as { $ref: string }[] | undefined) ?? [schema as { $ref: string }];
  return refs.map(({ $ref }) => {
    const envelope = doc.components.schemas[$ref.replace('#/components/schemas/', '')] as {
      properties: { error: { properties: { code: { const: string } } } };
    };
    return envelope.properties.error.properties.code.const;
  });
}

/** Why a value does not match a schema of the document, one message per failure; empty when it matches. */
export type SchemaValidator = (schema: JsonSchema, value: unknown) => string[];

/** A server on a loopback port, the document it serves at /api/openapi.json, and a validator for that document's schemas. */
export async function serveOpenApiDocument(): Promise<{ h: HttpHarness; doc: OpenApiDocument; validate: SchemaValidator }> {
  const h = await createHttpHarness();
  const doc = (await h.request('/api/openapi.json')).body as OpenApiDocument;
  return { h, doc, validate: schemaValidator(doc) };
}

/**
 * A JSON Schema 2020-12 validator for the document's schemas (OpenAPI 3.1 schemas
 * are JSON Schema 2020-12), resolving `#/components/schemas/…` against the document.
 */
export function schemaValidator(doc: OpenApiDocument): SchemaValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'openapi.json', components: doc.components });
  return (schema, value) => {
    const check = ajv.compile({ $id: `probe-${Math.random()}`, ...rebase(schema) });
    if (check(value)) return [];
    return (check.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}`);
  };
}

/** Points the document's local references at the document registered in the validator. */
const rebase = (schema: JsonSchema): JsonSchema =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi.json#/components/')) as JsonSchema;
