import type { Express, RequestHandler } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { OpenAPIObject } from 'trpc-to-openapi';
import { decodedPath, onlyMethods, routeNotFound } from './fallbacks.js';

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

/**
 * The API reference and its static assets take GET and HEAD only, and every
 * miss answers the envelope: swagger-ui-express would answer `…/package.json`
 * (hidden so as not to disclose versions) with a plain-text 404, and serve-static
 * redirects directory paths (`swagger-ui.css/..`) with an HTML page.
 */
const docsOnlyGet: RequestHandler = (req, res, next) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return req.path === '/' ? onlyMethods('GET')(req, res, next) : routeNotFound(res);
  }
  if ((decodedPath(req.path) ?? '').endsWith('/package.json')) return routeNotFound(res);
  // The page loads its assets by relative URLs (`./swagger-ui.css`): they resolve under /docs/ only.
  const [pathname, query] = req.originalUrl.split(/\?(.*)/s);
  if (pathname === '/docs') {
    res.statusCode = 301;
    res.setHeader('Location', query === undefined ? '/docs/' : `/docs/?${query}`);
    return res.end();
  }
  next();
};

/** The interactive reference at /docs, and its assets from swagger-ui-dist. */
export function mountDocs(app: Express, document: OpenAPIObject): void {
  app.use('/docs', docsOnlyGet, swaggerUi.serveWithOptions({ redirect: false }));
  app.get('/docs', docsPage(document));
}

/** The page itself (Swagger UI). */
function docsPage(document: OpenAPIObject): RequestHandler {
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
