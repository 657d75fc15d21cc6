import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import type { AppConfig } from '../config.js';
import { answerEdgeErrorsInEnvelope } from './client-error.js';

export interface HttpTimeouts {
  /** From the connection (or the previous request) to the end of the headers. */
  headersMs: number;
  /** For the whole request, its body included. */
  requestMs: number;
  /** How often Node checks both; an expired request is answered within this much after its limit. */
  checkEveryMs: number;
}

/**
 * Node's defaults let a client that stops sending in the middle of a body hold its
 * connection and the request's memory for 5 minutes (300 s, checked every 30 s), and
 * unfinished headers for over a minute. Bounded here: an expired request is answered
 * `400 VALIDATION_ERROR` ("not received in time", src/rest/client-error.ts) and its
 * connection closed. 30 s is ~30 KB/s for the largest body the API accepts (1 MB).
 */
export const HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 10_000, requestMs: 30_000, checkEveryMs: 1_000 };

/** Node's server options for these bounds (also the metrics port's). */
export const boundedServerOptions = ({ headersMs, requestMs, checkEveryMs }: HttpTimeouts = HTTP_TIMEOUTS): ServerOptions => ({
  headersTimeout: headersMs,
  requestTimeout: requestMs,
  connectionsCheckingInterval: checkEveryMs,
});

/** The HTTP server that serves the app: bounded request times, and the envelope on Node's own answers. */
export function createHttpServer(app: RequestListener, config: Pick<AppConfig, 'corsOrigins'>, timeouts: HttpTimeouts = HTTP_TIMEOUTS): Server {
  const server = createServer(boundedServerOptions(timeouts), app);
  answerEdgeErrorsInEnvelope(server, config);
  return server;
}
