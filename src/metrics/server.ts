import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics } from 'prom-client';
import type { Orm } from '../db/orm.js';
import { boundedServerOptions, type HttpTimeouts } from '../rest/http-server.js';
import { registry, trackPool, type PoolStats } from './registry.js';

let processMetricsStarted = false;

const isPool = (client: unknown): client is PoolStats =>
  typeof (client as Partial<PoolStats> | null)?.totalCount === 'number' && typeof (client as PoolStats).waitingCount === 'number';

/**
 * `GET /metrics` in Prometheus text format on a port of its own (METRICS_PORT,
 * contract §11), so that the API port, which faces the internet, never shows it:
 * expose this port to the scraper only. Anything else on it is a 404.
 */
export async function startMetricsServer(opts: { port: number; orm: Orm; host?: string; timeouts?: HttpTimeouts }): Promise<Server> {
  if (!processMetricsStarted) {
    // CPU, memory, event loop lag, GC and handles of this process.
    collectDefaultMetrics({ register: registry });
    processMetricsStarted = true;
  }
  // The PostgreSQL driver's pg Pool (the embedded PGlite has none).
  const nativeClient: unknown = await opts.orm.em.getConnection().getNativeClient();
  if (isPool(nativeClient)) trackPool(nativeClient);

  // The API port's bounds on slow clients (src/rest/http-server.ts): a stalled scraper connection is closed too.
  const server = createServer(boundedServerOptions(opts.timeouts), (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Metrics collection failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
