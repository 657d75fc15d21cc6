import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppConfig } from '../config.js';
import { AppError } from '../errors.js';
import { corsHeadersForEdge } from './cors.js';
import { errorEnvelope, JSON_CONTENT_TYPE } from './error-envelope.js';
import { requestIdFor } from './request-id.js';

/**
 * A rejection that happens before Express sees the request, with its honest
 * HTTP status. The contract has no codes for 431/417/408: those answers carry
 * `VALIDATION_ERROR` ("the request as sent is invalid", which is what a client
 * switching on the code must learn), while the status says precisely what was
 * wrong. Mapping them to a plain 400 would hide that from proxies and clients.
 */
interface EdgeRejection {
  status: number;
  error: AppError;
}

/** What Node's HTTP parser reports (llhttp's `HPE_*` codes), as Node itself would answer it, in the envelope. */
function rejectionFor(error: NodeJS.ErrnoException): EdgeRejection {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        // 400, not 431: the contract's VALIDATION_ERROR travels with 400 (§2), and clients switch on the pair.
        status: 400,
        error: new AppError('VALIDATION_ERROR', 'Request headers are too large', [{ field: 'headers', message: 'The request line and headers exceed the server limit' }]),
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, error: new AppError('PAYLOAD_TOO_LARGE', 'Chunk extensions are too large') };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 400, error: new AppError('VALIDATION_ERROR', 'The request was not received in time') };
    default:
      return { status: 400, error: new AppError('VALIDATION_ERROR', 'Malformed HTTP request') };
  }
}

/** The error envelope as a complete HTTP/1.1 response, for a socket that has no ServerResponse. */
function rawResponse({ status, error }: EdgeRejection, extraHeaders: Record<string, string>): string {
  const requestId = requestIdFor(undefined);
  const body = JSON.stringify(errorEnvelope(error, requestId));
  const headers = {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Request-Id': requestId,
    ...extraHeaders,
    Connection: 'close',
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head.join('\r\n')}\r\n\r\n${body}`;
}

/** Writes the response and closes; the parser is in an error state, so nothing more is read from this connection. */
function answerAndClose(socket: Duplex, response: string): void {
  socket.end(response, () => socket.destroy());
}

/**
 * Node's parser rejects some requests before any `request` event (oversized
 * headers, a malformed request line or header, broken chunking, conflicting
 * lengths) and by default writes a bare status line: no body, no X-Request-Id.
 * Here they get the envelope. Like Node's default, nothing is written once the
 * in-flight response has sent its headers (that would corrupt the stream) or
 * when the peer is gone.
 */
function onClientError(error: NodeJS.ErrnoException, socket: Duplex, cors: Record<string, string>): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  answerAndClose(socket, rawResponse(rejectionFor(error), cors));
}

/** The methods this server serves somewhere; CONNECT (tunnelling) is none of them. */
const SERVED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** Without a listener Node drops a CONNECT without a word: this is no proxy, so it is a 405. */
function onConnect(socket: Duplex, cors: Record<string, string>): void {
  answerAndClose(
    socket,
    rawResponse({ status: 405, error: new AppError('METHOD_NOT_ALLOWED', 'Method CONNECT not allowed') }, { Allow: SERVED_METHODS, ...cors }),
  );
}

/** An `Expect` other than `100-continue`: Node would answer a bare 417 and never run the app. */
function onCheckExpectation(req: IncomingMessage, res: ServerResponse, cors: Record<string, string>): void {
  const requestId = requestIdFor(req.headers['x-request-id']);
  const body = JSON.stringify(errorEnvelope(new AppError('VALIDATION_ERROR', 'Only the expectation 100-continue is supported', [{ field: 'Expect', message: 'Unsupported expectation' }]), requestId));
  res.writeHead(417, { 'Content-Type': JSON_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'X-Request-Id': requestId, ...cors, Connection: 'close' });
  res.end(body);
}

/**
 * Gives the answers Node writes by itself (parser errors, CONNECT, unmet
 * `Expect`, a missing `Host`) the contract's envelope. Attach it to every HTTP
 * server that serves the app.
 */
export function answerEdgeErrorsInEnvelope(server: Server, { corsOrigins }: Pick<AppConfig, 'corsOrigins'>): void {
  // A request the parser rejected has no headers to read the Origin from.
  const unknownOriginCors = corsHeadersForEdge(corsOrigins, undefined);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => onClientError(error, socket, unknownOriginCors));
  server.on('connect', (req: IncomingMessage, socket: Duplex) => onConnect(socket, corsHeadersForEdge(corsOrigins, req.headers.origin)));
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => onCheckExpectation(req, res, corsHeadersForEdge(corsOrigins, req.headers.origin)));
  // Node's own check answers a bare 400 before the app runs; the app applies the same rule in the envelope.
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
}
