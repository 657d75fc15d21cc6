import type { AnyTRPCRouter } from '@trpc/server';
import { forEachOpenApiProcedure, generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import type { ProcedureMeta } from '../trpc.js';

type Operation = {
  security?: unknown[];
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
};

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'requestId'],
      properties: {
        code: { type: 'string', example: 'VALIDATION_ERROR' },
        message: { type: 'string' },
        details: { description: 'For VALIDATION_ERROR: [{ field, message }]; for conflicts: see the endpoint.' },
        requestId: { type: 'string' },
      },
    },
  },
} as const;

const ERROR_RESPONSE_DESCRIPTIONS: Record<string, string> = {
  '400': 'VALIDATION_ERROR',
  '401': 'UNAUTHORIZED or INVALID_CREDENTIALS',
  '403': 'FORBIDDEN',
  '404': 'NOT_FOUND',
  '409': 'Conflict (see code)',
  '413': 'PAYLOAD_TOO_LARGE',
  '415': 'UNSUPPORTED_MEDIA_TYPE',
  '429': 'RATE_LIMITED',
  '500': 'INTERNAL_ERROR',
  '503': 'SERVICE_UNAVAILABLE',
};

/**
 * The OpenAPI document, generated from the same procedures and Zod schemas that
 * serve the requests, then adjusted where the generator's defaults differ from
 * the contract: real success statuses (201/204), our error envelope, and bearer
 * security only where a route is protected.
 */
export function buildOpenApiDocument(router: AnyTRPCRouter, opts: { version: string }): OpenAPIObject {
  const doc = generateOpenApiDocument(router, {
    title: 'Storefront API',
    description: 'Catalog, cart, checkout, orders and promo codes. Errors share one envelope: `{ "error": { code, message, details?, requestId } }`.',
    version: opts.version,
    baseUrl: '/',
    openApiVersion: '3.1.0',
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
  });
  // The base URL is the server root: every path already starts with /api.
  doc.servers = [{ url: '/' }];
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, Error: ERROR_SCHEMA as never } };

  forEachOpenApiProcedure<ProcedureMeta>(router._def.procedures, ({ meta }) => {
    const path = meta.openapi.path.replace(/^\/+/, '/');
    const operation = (doc.paths?.[path] as Record<string, Operation> | undefined)?.[meta.openapi.method.toLowerCase()];
    if (!operation?.responses) return;
    const responses = operation.responses;

    if (meta.successStatus && responses['200']) {
      const ok = responses['200'];
      delete responses['200'];
      responses[String(meta.successStatus)] =
        meta.successStatus === 204 ? { description: 'No content' } : { ...ok, description: 'Created' };
    }
    for (const [status, response] of Object.entries(responses)) {
      if (Number(status) >= 400) {
        responses[status] = {
          description: ERROR_RESPONSE_DESCRIPTIONS[status] ?? response.description ?? 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        };
      }
    }
    if (meta.openapi.protect === false) delete operation.security;
    else operation.security = [{ bearerAuth: [] }];
  });
  return doc;
}
