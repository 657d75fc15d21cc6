import type { AnyTRPCRouter } from '@trpc/server';
import { forEachOpenApiProcedure, generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { APP_ERROR_STATUS, type AppErrorCode } from '../errors.js';
import type { ProcedureMeta } from '../trpc.js';

type Response = { description?: string; headers?: Record<string, unknown>; content?: Record<string, { schema?: unknown }> };
type Parameter = { in: string; name: string; description?: string; schema?: { description?: string } };
type Operation = {
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: unknown;
  responses?: Record<string, Response>;
};

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string', enum: Object.keys(APP_ERROR_STATUS), example: 'VALIDATION_ERROR' },
        message: { type: 'string', description: 'Human-readable and safe to show.' },
        details: { description: 'For VALIDATION_ERROR: [{ field, message }]; for conflicts: see the endpoint.' },
        requestId: { type: 'string', description: 'Same value as the X-Request-Id header.' },
      },
    },
  },
} as const;

/** Errors that only some routes answer with (contract §3–§8); the generic ones are derived below. */
const ROUTE_ERRORS: Record<string, AppErrorCode[]> = {
  'POST /api/auth/signup': ['USERNAME_TAKEN'],
  'POST /api/auth/login': ['INVALID_CREDENTIALS', 'RATE_LIMITED'],
  'POST /api/cart/items': ['NOT_FOUND', 'INSUFFICIENT_STOCK'],
  'PATCH /api/cart/items/{itemId}': ['INSUFFICIENT_STOCK'],
  'POST /api/cart/promo-code': ['PROMO_CODE_INVALID'],
  'POST /api/checkout': ['CART_EMPTY', 'INSUFFICIENT_STOCK', 'PROMO_CODE_INVALID', 'IDEMPOTENCY_KEY_REUSED'],
  'POST /api/promo-codes': ['PROMO_CODE_TAKEN'],
};

const ERROR_HEADERS: Partial<Record<AppErrorCode, Record<string, unknown>>> = {
  UNAUTHORIZED: { 'WWW-Authenticate': { description: 'Always `Bearer`.', schema: { type: 'string' } } },
  RATE_LIMITED: { 'Retry-After': { description: 'Whole seconds until an attempt is allowed again.', schema: { type: 'integer' } } },
};

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

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

/** The contract errors a route can answer with, from how it is served. */
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
  for (const code of ROUTE_ERRORS[`${method} ${path}`] ?? []) codes.add(code);
  codes.add('INTERNAL_ERROR');
  codes.add('SERVICE_UNAVAILABLE');
  return codes;
}

function errorResponses(codes: Set<AppErrorCode>): Record<string, Response> {
  const byStatus = new Map<number, AppErrorCode[]>();
  for (const code of codes) byStatus.set(APP_ERROR_STATUS[code], [...(byStatus.get(APP_ERROR_STATUS[code]) ?? []), code]);
  const responses: Record<string, Response> = {};
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers = Object.assign({}, ...statusCodes.map((code) => ERROR_HEADERS[code] ?? {})) as Record<string, unknown>;
    responses[String(status)] = {
      description: statusCodes.join(' or '),
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return responses;
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
  // The base URL is the server root: every path already starts with /api.
  doc.servers = [{ url: '/' }];
  // The generator's own error schemas (`error.BAD_REQUEST`, …) are replaced by the contract envelope below.
  const schemas = Object.fromEntries(Object.entries(doc.components?.schemas ?? {}).filter(([name]) => !name.startsWith('error.')));
  doc.components = { ...doc.components, schemas: { ...schemas, Error: ERROR_SCHEMA as never } };

  forEachOpenApiProcedure<ProcedureMeta>(router._def.procedures, ({ meta }) => {
    const { method } = meta.openapi;
    const path = meta.openapi.path.replace(/^\/+/, '/');
    const operation = (doc.paths?.[path] as Record<string, Operation> | undefined)?.[method.toLowerCase()];
    if (!operation?.responses) return;
    const success = Object.entries(operation.responses).filter(([status]) => Number(status) < 400);

    const responses: Record<string, Response> = {};
    for (const [status, response] of success) {
      if (status === '200' && meta.successStatus === 204) responses['204'] = { description: 'No content', ...(response.headers ? { headers: response.headers } : {}) };
      else if (status === '200' && meta.successStatus === 201) responses['201'] = { ...response, description: 'Created' };
      else responses[status] = response;
    }
    // A malformed path id is a 404, never a 400: only other parameters and bodies can fail validation.
    const hasInput = (operation.parameters ?? []).some((p) => p.in !== 'path') || operation.requestBody !== undefined;
    operation.responses = { ...responses, ...errorResponses(errorCodesOf(method, path, meta, hasInput)) };

    // The generator rebuilds optional parameters around their schema, so a description stays on the schema only.
    for (const parameter of operation.parameters ?? []) parameter.description ??= parameter.schema?.description;

    if (meta.access === 'public') delete operation.security;
    else operation.security = [{ bearerAuth: [] }];
  });
  dropSafeIntegerBounds(doc);
  return doc;
}
