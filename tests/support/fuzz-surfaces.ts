import http from 'node:http';
import { getErrorShape, getTRPCErrorFromUnknown } from '@trpc/server/unstable-core-do-not-import';
import { z } from 'zod';
import { appRouter } from '../../src/routers/_app.js';
import type { User } from '../../src/entities/User.js';
import type { Harness } from './harness.js';
import { CONTRACT_ERRORS, type Outcome, type Reader } from './fuzz-oracle.js';
import type { JsonSchema } from './fuzz-values.js';
import { percentEncode, toJsonText } from './fuzz-values.js';
import { requestVerbatim } from './raw-http.js';

/**
 * The operations the fuzzers drive, read from what the server itself publishes: the
 * REST operations of the served /api/openapi.json, and the procedures of the router
 * with their Zod input schemas. Plus one Reader per surface, for read-backs.
 */

export interface RestParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface RestOperation {
  /** The procedure behind it (operationId `cart-addItem` → `cart.addItem`). */
  procedure: string;
  method: string;
  path: string;
  parameters: RestParameter[];
  body?: { required: boolean; schema: JsonSchema };
  access: 'public' | 'user' | 'admin';
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId: string; parameters?: RestParameter[]; requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> }; security?: unknown[] }>>;
}

export function restOperations(doc: OpenApiDocument): RestOperation[] {
  const operations: RestOperation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const procedure = operation.operationId.replace('-', '.');
      const meta = procedureOf(procedure)._def.meta as { access?: RestOperation['access'] } | undefined;
      const body = operation.requestBody?.content['application/json'];
      operations.push({
        procedure,
        method: method.toUpperCase(),
        path,
        parameters: (operation.parameters ?? []).map((p) => ({ ...p, required: p.required ?? false })),
        ...(body ? { body: { required: operation.requestBody?.required ?? false, schema: body.schema } } : {}),
        access: meta?.access ?? (operation.security ? 'user' : 'public'),
      });
    }
  }
  return operations;
}

interface ProcedureDef {
  _def: { type: 'query' | 'mutation' | 'subscription'; inputs: z.ZodType[]; meta?: unknown };
}

const procedures = appRouter._def.procedures as unknown as Record<string, ProcedureDef>;
const procedureOf = (name: string): ProcedureDef => {
  const procedure = procedures[name];
  if (!procedure) throw new Error(`no procedure ${name}`);
  return procedure;
};

export interface ProcedureInfo {
  name: string;
  type: 'query' | 'mutation';
  access: 'public' | 'user' | 'admin';
  /** The input schema as JSON Schema (Zod's own conversion, input side); undefined for `z.void()`. */
  input: JsonSchema | undefined;
}

export function procedureList(): ProcedureInfo[] {
  return Object.entries(procedures).map(([name, procedure]) => {
    const schema = procedure._def.inputs[0];
    const json = schema ? (z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema) : undefined;
    return {
      name,
      type: procedure._def.type as 'query' | 'mutation',
      access: (procedure._def.meta as { access?: ProcedureInfo['access'] } | undefined)?.access ?? 'public',
      input: json && !(json.type === undefined && !json.anyOf && !json.properties) && (json as { not?: unknown }).not === undefined ? json : undefined,
    };
  });
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON
  body: any;
}

/** The server ended the exchange without an HTTP answer (connection reset or closed). */
export class NoAnswer extends Error {
  override name = 'NoAnswer';
}

/** Kept-alive connections for the fuzzers' many small requests. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/**
 * One exchange with the path sent exactly as generated (node:http, not fetch, which
 * resolves dot segments such as `/items/..` on the client, so they would never reach
 * the server as written).
 */
export async function send(url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<HttpAnswer> {
  const origin = new URL(url).origin;
  // Not `new URL(url).pathname`: the URL parser resolves dot segments too.
  const path = url.slice(origin.length) || '/';
  try {
    return await requestVerbatim(origin, init.method, path, init.headers, init.body, agent);
  } catch (error) {
    // A request node:http refuses to build (an invalid header: ERR_INVALID_CHAR, …) never left this process.
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('ERR_')) throw error;
    // Only a failed exchange counts: the connection reset or closed without an answer.
    throw new NoAnswer(`no answer: ${code} ${(error as Error).message}`);
  }
}

const bearer = (token: string | undefined): Record<string, string> => (token ? { Authorization: `Bearer ${token}` } : {});

/** Calls a procedure through its REST operation: path parameters from the input, the rest as query or body. */
export function restReader(baseUrl: string, operations: RestOperation[], token: string | undefined): Reader {
  return async (procedure, input) => {
    const operation = operations.find((op) => op.procedure === procedure);
    if (!operation) throw new Error(`no REST operation for ${procedure}`);
    const fields = { ...(input as Record<string, unknown> | undefined) };
    let path = operation.path;
    for (const p of operation.parameters.filter((p) => p.in === 'path')) {
      path = path.replace(`{${p.name}}`, percentEncode(String(fields[p.name])));
      delete fields[p.name];
    }
    const hasBody = ['POST', 'PUT', 'PATCH'].includes(operation.method);
    const query = hasBody ? '' : Object.entries(fields).map(([k, v]) => `${percentEncode(k)}=${percentEncode(String(v))}`).join('&');
    const answer = await send(`${baseUrl}${path}${query ? `?${query}` : ''}`, {
      method: operation.method,
      headers: { ...bearer(token), ...(hasBody ? { 'Content-Type': 'application/json' } : {}) },
      ...(hasBody ? { body: toJsonText(fields) } : {}),
    });
    if (answer.status < 300) return { ok: true, status: answer.status, data: answer.body };
    return { ok: false, status: answer.status, code: String(answer.body?.error?.code) };
  };
}

/** tRPC over HTTP as its links send it: queries as GET ?input=, mutations as POST with a JSON body. */
export async function trpcSend(baseUrl: string, procedure: ProcedureInfo, input: unknown, token: string | undefined, extraHeaders: Record<string, string> = {}): Promise<HttpAnswer> {
  const url = `${baseUrl}/trpc/${procedure.name}`;
  if (procedure.type === 'query') {
    const query = input === undefined ? '' : `?input=${percentEncode(toJsonText(input))}`;
    return send(url + query, { method: 'GET', headers: { ...bearer(token), ...extraHeaders } });
  }
  return send(url, {
    method: 'POST',
    headers: { ...bearer(token), ...(input === undefined ? {} : { 'Content-Type': 'application/json' }), ...extraHeaders },
    ...(input === undefined ? {} : { body: toJsonText(input) }),
  });
}

export function trpcReader(baseUrl: string, token: string | undefined): Reader {
  const infos = new Map(procedureList().map((p) => [p.name, p]));
  return async (name, input) => {
    const answer = await trpcSend(baseUrl, infos.get(name)!, input, token);
    if (answer.status < 300) return { ok: true, status: answer.status, data: answer.body?.result?.data };
    return { ok: false, status: answer.status, code: String(answer.body?.error?.data?.appCode) };
  };
}

/** The error shape tRPC would send for an error thrown by a createCaller call: the router's own formatter. */
export function callerErrorShape(error: unknown, procedure: ProcedureInfo, input: unknown) {
  return getErrorShape({
    config: appRouter._def._config,
    error: getTRPCErrorFromUnknown(error),
    type: procedure.type,
    path: procedure.name,
    input,
    ctx: undefined,
  });
}

/** Calls `caller.<router>.<procedure>(input)`. */
export function invoke(harness: Harness, user: User | undefined, name: string, input: unknown): Promise<unknown> {
  const [routerName, procedureName] = name.split('.') as [string, string];
  const caller = harness.caller(user) as unknown as Record<string, Record<string, (input: unknown) => Promise<unknown>>>;
  return caller[routerName]![procedureName]!(input);
}

export function callerReader(harness: Harness, user: User | undefined): Reader {
  const infos = new Map(procedureList().map((p) => [p.name, p]));
  return async (name, input) => {
    try {
      return { ok: true, status: 200, data: JSON.parse(JSON.stringify(await invoke(harness, user, name, input))) as unknown } as Outcome;
    } catch (error) {
      const data = callerErrorShape(error, infos.get(name)!, input).data as { appCode?: string; httpStatus?: number };
      return { ok: false, status: data.httpStatus ?? 500, code: String(data.appCode) };
    }
  };
}

export const contractCodes = Object.keys(CONTRACT_ERRORS);
