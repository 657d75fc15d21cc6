import type { RequestHandler } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { OpenAPIObject } from 'trpc-to-openapi';

/**
 * How a person on the page gets a token. Page-only text (it names the page's own
 * Authorize button), so it is added to the page's copy of the document, not to
 * /api/openapi.json, which generators read.
 */
const TRYING_IT_OUT = `

### Trying it out

Public routes need nothing. For the others:

1. Call \`POST /api/auth/signup\` (a new customer) or \`POST /api/auth/login\` with **Try it out** and copy \`accessToken\` from the response body.
2. Click **Authorize**, paste the token (without \`Bearer\`), then **Authorize** and **Close**. This browser keeps it across reloads until you **Logout** or it expires (after an hour by default).

Admin routes (product writes, promo codes) need an admin account: start the server with \`ADMIN_USERNAME\` and \`ADMIN_PASSWORD\` set and log in with those.`;

/** The interactive reference at /docs (Swagger UI, its assets served from swagger-ui-dist by the caller). */
export function docsPage(document: OpenAPIObject): RequestHandler {
  const pageDocument = { ...document, info: { ...document.info, description: `${document.info.description ?? ''}${TRYING_IT_OUT}` } };
  return swaggerUi.setup(pageDocument, {
    customSiteTitle: 'Storefront API reference',
    customCss: '.swagger-ui .topbar { display: none }',
    swaggerOptions: {
      // The token pasted into Authorize survives a reload (Swagger UI keeps it in localStorage).
      persistAuthorization: true,
    },
  });
}
