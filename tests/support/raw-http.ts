import http from 'node:http';
import net from 'node:net';
import type { TestResponse } from './harness.js';

function toTestResponse(status: number, headers: Headers, text: string): TestResponse {
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the test reads `text`.
  }
  return { status, headers, body, text };
}

function decodeChunked(payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = payload.indexOf('\r\n', offset);
    const size = Number.parseInt(payload.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(payload.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

/** One HTTP/1.x response as read off the wire: status line, headers, body (plain or chunked). */
function parseResponse(raw: Buffer): TestResponse & { statusLine: string } {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) throw new Error(`no HTTP response, got ${JSON.stringify(raw.toString('latin1'))}`);
  const [statusLine = '', ...lines] = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const payload = raw.subarray(headEnd + 4);
  const body = headers.get('transfer-encoding') === 'chunked' ? decodeChunked(payload) : payload.subarray(0, Number(headers.get('content-length') ?? payload.length));
  return { statusLine, ...toTestResponse(Number(statusLine.split(' ')[1]), headers, body.toString('utf8')) };
}

/**
 * Writes `bytes` exactly as given on a fresh connection and parses what the
 * server answers before it closes the connection. For requests no HTTP client
 * would send: malformed request lines, oversized headers, broken chunking.
 */
export function rawExchange(baseUrl: string, bytes: string | Buffer): Promise<TestResponse & { statusLine: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(port), hostname, () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may reset the connection after answering; what it wrote before still counts.
    socket.on('error', () => {});
    socket.on('close', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/**
 * A request with any method token and a path sent verbatim (fetch refuses
 * TRACE and CONNECT and normalises `%2e%2e` segments; node:http does neither).
 */
export function requestVerbatim(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  /** Kept-alive connections for many requests; a fresh connection each by default. */
  agent: http.Agent | false = false,
): Promise<TestResponse> {
  const { hostname, port } = new URL(baseUrl);
  // node:http frames a body of GET, HEAD, DELETE or OPTIONS neither by length nor by chunks:
  // its bytes would reach the server as the start of the next request on the connection.
  const framed = body === undefined || Object.keys(headers).some((name) => /^(content-length|transfer-encoding)$/i.test(name));
  const sentHeaders = framed ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers: sentHeaders, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        resolve(toTestResponse(res.statusCode ?? 0, responseHeaders, Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
