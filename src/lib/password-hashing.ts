import { availableParallelism } from 'node:os';
import bcrypt from 'bcrypt';
import pLimit from 'p-limit';
import { AppError } from '../errors.js';

/**
 * Process-wide bounds on bcrypt work, so that a flood of logins or signups cannot starve every
 * other route.
 *
 * bcrypt runs on libuv's thread pool (4 threads by default), which file reads (static assets of
 * /docs), DNS lookups and zlib share, and which is FIFO: a hundred queued hashes delay every file
 * read behind all of them. On top of that each hash is a core's worth of CPU for its whole run, so
 * four at once on a small box take the cores from the event loop and from PostgreSQL. So at most
 * half the cores and half the pool threads (at least one) hash at once: the event loop keeps a
 * core, and file reads and lookups keep free threads.
 */
const THREAD_POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE) || 4;
export const PASSWORD_HASHING_CONCURRENCY = Math.max(1, Math.min(Math.floor(availableParallelism() / 2), Math.floor(THREAD_POOL_SIZE / 2)));

/**
 * How many logins and signups may be under way (waiting for the database, queued for bcrypt or
 * hashing) before new ones are turned away. At cost 10 a hash takes ~60-120 ms here, so the last
 * admitted request waits about a second at most instead of queueing without bound.
 */
export const MAX_PASSWORD_REQUESTS = PASSWORD_HASHING_CONCURRENCY * 16;

const hashing = pLimit(PASSWORD_HASHING_CONCURRENCY);
let admitted = 0;

/** Runs `work` in one of the PASSWORD_HASHING_CONCURRENCY hashing slots, after the work queued before it. */
export const inHashingSlot = <T>(work: () => Promise<T>): Promise<T> => hashing(work);

export const hashPassword = (password: string, cost: number): Promise<string> => inHashingSlot(() => bcrypt.hash(password, cost));

export const comparePassword = (password: string, hash: string): Promise<boolean> => inHashingSlot(() => bcrypt.compare(password, hash));

/** The work factor a stored hash was made with. */
export const hashCost = (hash: string): number => bcrypt.getRounds(hash);

/**
 * Runs one login or signup if fewer than MAX_PASSWORD_REQUESTS are under way, else answers at once
 * with 503 SERVICE_UNAVAILABLE and Retry-After: the server is busy for everyone, so this is not the
 * client's own 429 RATE_LIMITED, and a quick answer frees the connection instead of holding it
 * while the queue grows. Admission is counted before any database work, so a turned-away attempt
 * costs neither a hash nor a query and is not counted against any rate limit.
 */
export async function withPasswordWork<T>(work: () => Promise<T>): Promise<T> {
  if (admitted >= MAX_PASSWORD_REQUESTS) {
    throw new AppError('SERVICE_UNAVAILABLE', 'The server is busy, try again shortly', undefined, { 'Retry-After': '1' });
  }
  admitted++;
  try {
    return await work();
  } finally {
    admitted--;
  }
}

/** For tests and metrics: how much password work is under way right now. */
export const passwordWorkLoad = () => ({ admitted, hashing: hashing.activeCount, queued: hashing.pendingCount });
