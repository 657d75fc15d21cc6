import { createHash, randomUUID } from 'node:crypto';
import type { Em } from '../../db/orm.js';
import { queryRows, sql } from '../../db/sql.js';
import { IdempotencyKey } from '../../entities/IdempotencyKey.js';
import { idempotencyKeyReused, validationError } from '../../errors.js';
import type { OrderOutput } from '../orders/schemas.js';
import { idempotencyKeyHeader } from './schemas.js';

/** Keys are remembered at least this long (contract §6); older ones may be reused or purged. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

const PURGE_BATCH = 100;

/** The header value, or a 400 naming the header. Absent means "no idempotency". */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const parsed = idempotencyKeyHeader.safeParse(header);
  if (!parsed.success) {
    throw validationError([{ field: 'Idempotency-Key', message: parsed.error.issues[0]?.message ?? 'Invalid' }]);
  }
  return parsed.data;
}

/** JSON with object keys sorted at every level, so equal JSON values always serialize identically. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 of the canonical JSON of the request body: key order and whitespace do not matter. */
export const requestFingerprint = (body: unknown): string =>
  createHash('sha256').update(canonicalJson(body)).digest('hex');

/**
 * Claims the key for this request as the first statement of the checkout
 * transaction. A concurrent request with the same key blocks on the unique index
 * until the holder commits (then it finds the stored response) or rolls back (then
 * its own insert goes through). An expired key is taken over in the same statement.
 */
const CLAIM_KEY = `
  insert into "idempotency_key" ("id", "user_id", "key", "request_hash", "created_at")
  values (?, ?, ?, ?, ?)
  on conflict ("user_id", "key") do update
    set "request_hash" = excluded."request_hash", "response_body" = null, "order_id" = null, "created_at" = excluded."created_at"
    where "idempotency_key"."created_at" < ?
  returning "id"`;

export type KeyClaim =
  | { kind: 'claimed'; id: string }
  | { kind: 'replay'; response: OrderOutput };

export async function claimIdempotencyKey(
  tem: Em,
  args: { userId: string; key: string; requestHash: string; now: Date },
): Promise<KeyClaim> {
  const expiredBefore = new Date(args.now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  const claimed = await tem.execute<{ id: string }[]>(CLAIM_KEY, [
    randomUUID(),
    args.userId,
    args.key,
    args.requestHash,
    args.now,
    expiredBefore,
  ]);
  if (claimed[0]) return { kind: 'claimed', id: claimed[0].id };

  // Only successful checkouts are ever committed, so a row that exists holds a response.
  const stored = await tem.findOneOrFail(IdempotencyKey, { user: args.userId, key: args.key });
  if (stored.requestHash !== args.requestHash) {
    throw idempotencyKeyReused();
  }
  return { kind: 'replay', response: stored.responseBody as OrderOutput };
}

/**
 * Stores the 201 body with the claimed key (same transaction as the order, so an
 * error leaves the key unused) and drops a batch of expired keys on the way;
 * SKIP LOCKED keeps the clean-up from ever waiting on another checkout.
 */
export async function rememberResponse(
  tem: Em,
  args: { claimId: string; orderId: string; response: OrderOutput; now: Date },
): Promise<void> {
  await tem.nativeUpdate(IdempotencyKey, { id: args.claimId }, { responseBody: args.response, orderId: args.orderId });
  const expiredBefore = new Date(args.now.getTime() - IDEMPOTENCY_KEY_TTL_MS);
  await queryRows(
    tem,
    sql`delete from "idempotency_key" where "id" in (
          select "id" from "idempotency_key" where "created_at" < ${expiredBefore} order by "created_at" limit ${PURGE_BATCH} for update skip locked)`,
  );
}
