import type { AnyTRPCRouter } from '@trpc/server';
import { forEachOpenApiProcedure, generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import type { DetailsByCode } from '../error-shape.js';
import {
  APP_ERROR_STATUS,
  AppError,
  cartEmpty,
  databaseUnavailable,
  forbidden,
  idempotencyKeyReused,
  insufficientStock,
  internalError,
  invalidCredentials,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  PROMO_CODE_INVALID_REASONS,
  promoCodeInvalid,
  promoCodeTaken,
  unauthorized,
  unsupportedMediaType,
  usernameTaken,
  validationError,
  type AppErrorCode,
} from '../errors.js';
import type { ProcedureMeta } from '../trpc.js';
import { errorEnvelope } from './error-envelope.js';

type Response = { description?: string; headers?: Record<string, unknown>; content?: Record<string, { schema?: unknown; examples?: unknown }> };
type Parameter = { in: string; name: string; required?: boolean; description?: string; schema?: { description?: string } };
type Operation = {
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: unknown;
  responses?: Record<string, Response>;
};

/** Component name of a code's error envelope: `VALIDATION_ERROR` → `ValidationError`, `NOT_FOUND` → `NotFoundError`. */
const envelopeName = (code: AppErrorCode) => {
  const name = code.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _sep, letter: string) => letter.toUpperCase());
  return name.endsWith('Error') ? name : `${name}Error`;
};

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Shapes shared by several error details, named once. */
const DETAIL_COMPONENTS = {
  FieldIssue: {
    type: 'object',
    required: ['field', 'message'],
    properties: {
      field: { type: 'string', description: 'Dotted path of the input: `page`, `items.0.quantity`, `body` for a malformed body, a header name' },
      message: { type: 'string' },
    },
    additionalProperties: false,
  },
  StockShortfall: {
    type: 'object',
    required: ['productId', 'requested', 'available'],
    properties: {
      productId: { type: 'string', format: 'uuid' },
      requested: { type: 'integer', minimum: 1, description: "The line's resulting quantity" },
      available: { type: 'integer', minimum: 0, description: 'min(99, stock) for cart changes; the stock at checkout' },
    },
    additionalProperties: false,
  },
};

/** `details` of the codes that carry some (contract §2), checked against the tRPC error type's list. */
const DETAILS_SCHEMAS = {
  VALIDATION_ERROR: { type: 'array', items: schemaRef('FieldIssue'), description: 'Every problem found; absent only when no field can be named' },
  INSUFFICIENT_STOCK: { type: 'array', items: schemaRef('StockShortfall'), minItems: 1, description: 'Every line that does not fit' },
  PROMO_CODE_INVALID: {
    type: 'object',
    required: ['reason'],
    properties: { reason: { type: 'string', enum: PROMO_CODE_INVALID_REASONS, description: 'When several hold, the first in this list' } },
    additionalProperties: false,
  },
  PROMO_CODE_TAKEN: {
    type: 'object',
    required: ['code'],
    properties: { code: { type: 'string', description: 'The code as stored (upper case)' } },
    additionalProperties: false,
  },
} satisfies Record<keyof DetailsByCode, object>;

/** Codes whose `details` may be absent (tRPC's own rejections name no field). */
const OPTIONAL_DETAILS = new Set<AppErrorCode>(['VALIDATION_ERROR']);

/** The contract envelope (§2) of one code: clients generated from the document narrow `details` on `code`. */
function envelopeSchema(code: AppErrorCode): object {
  const details = (DETAILS_SCHEMAS as Partial<Record<AppErrorCode, object>>)[code];
  return {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message', ...(details && !OPTIONAL_DETAILS.has(code) ? ['details'] : []), 'requestId'],
        properties: {
          code: { type: 'string', const: code },
          message: { type: 'string', description: 'Human-readable and safe to show' },
          ...(details ? { details } : {}),
          requestId: { type: 'string', description: 'Same value as the X-Request-Id header' },
        },
        additionalProperties: false,
      },
    },
    additionalProperties: false,
  };
}

const EXAMPLE_PRODUCT_ID = '0b7e4f0e-4d1a-4c55-9a57-3f6f2b1c8d21';

/** What the server answers with for each code, built by the same constructors the services use (src/errors.ts). */
const EXAMPLE_ERRORS: Record<AppErrorCode, AppError> = {
  VALIDATION_ERROR: validationError([{ field: 'page', message: 'Required' }]),
  UNAUTHORIZED: unauthorized(),
  INVALID_CREDENTIALS: invalidCredentials(),
  FORBIDDEN: forbidden(),
  NOT_FOUND: notFound(),
  METHOD_NOT_ALLOWED: methodNotAllowed('PATCH', 'GET, HEAD'),
  USERNAME_TAKEN: usernameTaken(),
  INSUFFICIENT_STOCK: insufficientStock([{ productId: EXAMPLE_PRODUCT_ID, requested: 3, available: 2 }]),
  CART_EMPTY: cartEmpty(),
  PROMO_CODE_INVALID: promoCodeInvalid('expired'),
  PROMO_CODE_TAKEN: promoCodeTaken('SAVE10'),
  IDEMPOTENCY_KEY_REUSED: idempotencyKeyReused(),
  PAYLOAD_TOO_LARGE: payloadTooLarge(),
  UNSUPPORTED_MEDIA_TYPE: unsupportedMediaType(),
  RATE_LIMITED: new AppError('RATE_LIMITED', 'Too many failed login attempts, try again later'),
  INTERNAL_ERROR: internalError(),
  SERVICE_UNAVAILABLE: databaseUnavailable(),
};

const EXAMPLE_REQUEST_ID = '5b0c7f9e-2f4d-4c1b-9d7a-8e0f1a2b3c4d';

/** Contract §2: every 401 carries it. */
const BEARER_CHALLENGE = { 'WWW-Authenticate': { description: 'Always `Bearer`.', required: true, schema: { type: 'string', const: 'Bearer' } } };

const ERROR_HEADERS: Partial<Record<AppErrorCode, Record<string, unknown>>> = {
  UNAUTHORIZED: BEARER_CHALLENGE,
  INVALID_CREDENTIALS: BEARER_CHALLENGE,
  RATE_LIMITED: { 'Retry-After': { description: 'Whole seconds until an attempt can succeed.', required: true, schema: { type: 'integer', minimum: 1 } } },
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The document's tags, in the order a client meets them. */
const TAGS: Record<string, string> = {
  auth: 'Accounts and access tokens: sign up or log in, then send `Authorization: Bearer <accessToken>`.',
  products: 'The catalog: public reads, admin writes.',
  cart: "The signed-in user's one active cart; totals always computed from current prices.",
  checkout: 'Turns the cart into an order in one atomic step.',
  orders: "The signed-in user's order history (snapshots taken at checkout).",
  'promo-codes': 'Admin management of promo codes and their limits.',
};

/**
 * zod writes ±2^53 as the bounds of every `int()`: not a limit anyone needs told,
 * and Swagger UI shows it as the example value. Real bounds are stated in the schemas.
 */
function dropSafeIntegerBounds(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(dropSafeIntegerBounds);
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, unknown>;
  if (schema.minimum === Number.MIN_SAFE_INTEGER) delete schema.minimum;
  if (schema.maximum === Number.MAX_SAFE_INTEGER) delete schema.maximum;
  Object.values(schema).forEach(dropSafeIntegerBounds);
}

type ZodDef = { type: string; innerType?: ZodLike; in?: ZodLike; catchall?: ZodLike };
type ZodLike = { _zod: { def: ZodDef }; meta?: () => { examples?: unknown } | undefined };

const inputOf = (procedure: unknown) => (procedure as { _def: { inputs: ZodLike[] } })._def.inputs[0];

/** Whether an input object refuses keys it does not name (`z.strictObject`), looking through defaults and pipes. */
function rejectsUnknownFields(schema: ZodLike | undefined): boolean {
  const def = schema?._zod.def;
  if (!def) return false;
  if (def.type === 'object') return def.catchall?._zod.def.type === 'never';
  return rejectsUnknownFields(def.innerType ?? def.in);
}

/** The contract errors a route can answer with: derived from how it is served, plus what its procedure declares. */
function errorCodesOf(method: string, path: string, meta: ProcedureMeta, hasInput: boolean): Set<AppErrorCode> {
  const codes = new Set<AppErrorCode>();
  if (hasInput) codes.add('VALIDATION_ERROR');
  if (meta.access !== 'public') codes.add('UNAUTHORIZED');
  if (meta.access === 'admin') codes.add('FORBIDDEN');
  if (path.includes('{')) codes.add('NOT_FOUND');
  if (BODY_METHODS.has(method)) {
    codes.add('VALIDATION_ERROR');
    codes.add('PAYLOAD_TOO_LARGE');
    codes.add('UNSUPPORTED_MEDIA_TYPE');
  }
  for (const code of meta.errors ?? []) codes.add(code);
  codes.add('INTERNAL_ERROR');
  codes.add('SERVICE_UNAVAILABLE');
  return codes;
}

/** An example of a code's envelope, for the operation's own first input field where one is named. */
function exampleEnvelope(code: AppErrorCode, firstField: string | undefined) {
  const error = code === 'VALIDATION_ERROR' && firstField ? validationError([{ field: firstField, message: 'Required' }]) : EXAMPLE_ERRORS[code];
  return errorEnvelope(error, EXAMPLE_REQUEST_ID);
}

function errorResponses(codes: Set<AppErrorCode>, firstField: string | undefined): Record<string, Response> {
  const byStatus = new Map<number, AppErrorCode[]>();
  for (const code of codes) byStatus.set(APP_ERROR_STATUS[code], [...(byStatus.get(APP_ERROR_STATUS[code]) ?? []), code]);
  const responses: Record<string, Response> = {};
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers = Object.assign({}, ...statusCodes.map((code) => ERROR_HEADERS[code] ?? {})) as Record<string, unknown>;
    const refs = statusCodes.map((code) => schemaRef(envelopeName(code)));
    responses[String(status)] = {
      description: statusCodes.join(' or '),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: {
        'application/json': {
          schema: refs.length === 1 ? refs[0] : { oneOf: refs },
          examples: Object.fromEntries(statusCodes.map((code) => [code, { summary: code, value: exampleEnvelope(code, firstField) }])),
        },
      },
    };
  }
  return responses;
}

/** The first input a client must send (a required query parameter or body field): the validation example names it. */
function firstRequiredField(operation: Operation): string | undefined {
  const query = operation.parameters?.find((p) => p.in === 'query' && p.required);
  if (query) return query.name;
  const body = operation.requestBody as { content?: Record<string, { schema?: { required?: string[] } }> } | undefined;
  return body?.content?.['application/json']?.schema?.required?.[0];
}

/**
 * The OpenAPI document, generated from the same procedures and Zod schemas that
 * serve the requests, then adjusted where the generator's defaults differ from
 * the contract: real success statuses (201/204), the errors each route can
 * answer with in our envelope, and bearer security exactly where the procedure
 * requires a signed-in user.
 */
export function buildOpenApiDocument(router: AnyTRPCRouter, opts: { version: string }): OpenAPIObject {
  const doc = generateOpenApiDocument(router, {
    title: 'Storefront API',
    description:
      'Catalog, cart, checkout, orders and promo codes. Errors share one envelope: `{ "error": { code, message, details?, requestId } }`. ' +
      'The same procedures are served for TypeScript clients at `/trpc`.',
    version: opts.version,
    baseUrl: '/',
    openApiVersion: '3.1.0',
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
  });
  doc.tags = Object.entries(TAGS).map(([name, description]) => ({ name, description }));
  // The base URL is the server root: every path already starts with /api.
  doc.servers = [{ url: '/' }];
  // The generator's own error schemas (`error.BAD_REQUEST`, …) are replaced by the contract envelope below.
  const schemas: Record<string, unknown> = Object.fromEntries(Object.entries(doc.components?.schemas ?? {}).filter(([name]) => !name.startsWith('error.')));
  const usedCodes = new Set<AppErrorCode>();

  forEachOpenApiProcedure<ProcedureMeta>(router._def.procedures, ({ meta, procedure }) => {
    const { method } = meta.openapi;
    const path = meta.openapi.path.replace(/^\/+/, '/');
    const operation = (doc.paths?.[path] as Record<string, Operation> | undefined)?.[method.toLowerCase()];
    if (!operation?.responses) return;
    const success = Object.entries(operation.responses).filter(([status]) => Number(status) < 400);

    const responses: Record<string, Response> = {};
    for (const [status, response] of success) {
      if (status === '200' && meta.successStatus === 204) responses['204'] = { description: 'No content', ...(response.headers ? { headers: response.headers } : {}) };
      else if (status === '200' && meta.successStatus === 201) responses['201'] = { ...response, description: meta.openapi.successDescription ?? 'Created' };
      else responses[status] = response;
    }
    // A malformed path id is a 404, never a 400: only other parameters and bodies can fail validation.
    const hasInput = (operation.parameters ?? []).some((p) => p.in !== 'path') || operation.requestBody !== undefined;
    const codes = errorCodesOf(method, path, meta, hasInput);
    for (const code of codes) usedCodes.add(code);
    operation.responses = { ...responses, ...errorResponses(codes, firstRequiredField(operation)) };

    const media = (operation.requestBody as { content?: Record<string, { schema?: Record<string, unknown>; example?: unknown }> } | undefined)?.content?.['application/json'];
    if (media?.schema) {
      // The generator rebuilds a refined body object without its strictness: the document says what the schema does.
      media.schema.additionalProperties = !rejectsUnknownFields(inputOf(procedure));
      // JSON Schema's input side drops the examples of a schema with transforms; Swagger UI prefills this one.
      const [example] = (inputOf(procedure)?.meta?.()?.examples as unknown[] | undefined) ?? [];
      if (example !== undefined) media.example = example;
    }

    // The generator rebuilds optional parameters around their schema, so a description stays on the schema only.
    for (const parameter of operation.parameters ?? []) parameter.description ??= parameter.schema?.description;

    if (meta.access === 'public') delete operation.security;
    else operation.security = [{ bearerAuth: [] }];
  });
  // Only the envelopes some operation answers with: every component is referenced.
  const envelopes = Object.fromEntries([...usedCodes].sort().map((code) => [envelopeName(code), envelopeSchema(code)]));
  doc.components = { ...doc.components, schemas: { ...schemas, ...DETAIL_COMPONENTS, ...envelopes } as never };
  dropSafeIntegerBounds(doc);
  return doc;
}
