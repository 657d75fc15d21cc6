import { UniqueConstraintViolationException, type QueryResult } from '@mikro-orm/core';
import type { AppConfig } from '../../config.js';
import { issueAccessToken, type SignedInUser } from '../../context/auth.js';
import { clientAddressKey } from '../../context/client-address.js';
import type { Em } from '../../db/orm.js';
import { queryRows, sql } from '../../db/sql.js';
import { AttemptLog, type AttemptKind } from '../../entities/AttemptLog.js';
import { User } from '../../entities/User.js';
import { AppError, invalidCredentials, usernameTaken } from '../../errors.js';
import { comparePassword, hashPassword, withPasswordWork } from '../../lib/password-hashing.js';
import type { AuthOutput, LoginInput, SignupInput, UserOutput } from './schemas.js';

/** The sliding window of each budget (contract §2 and §11). */
const WINDOW_MS: Record<AttemptKind, number> = {
  login: 15 * 60 * 1000,
  login_address: 15 * 60 * 1000,
  signup: 60 * 60 * 1000,
};

/** bcrypt reads only the first 72 bytes of a password; signup refuses longer ones (schemas.ts). */
const BCRYPT_MAX_PASSWORD_BYTES = 72;

export const toUserOutput = (user: SignedInUser): UserOutput => ({
  id: user.id,
  username: user.username,
  role: user.role,
  createdAt: user.createdAt.toISOString(),
});

const authResponse = (user: User, config: AppConfig): AuthOutput => ({
  accessToken: issueAccessToken(user, config),
  tokenType: 'Bearer',
  expiresIn: config.jwtExpiresInSeconds,
  user: toUserOutput(user),
});

interface Budget {
  kind: AttemptKind;
  key: string;
  /** Attempts allowed per window; 0 turns the budget off. */
  limit: number;
}

/**
 * Counts one attempt against each budget, or against none: when any budget is spent the attempt
 * gets 429 RATE_LIMITED with the whole seconds until every spent budget has a free slot again
 * (the oldest attempt that keeps it full leaves its window), and nothing is recorded.
 *
 * The slot is taken before the work it guards (the password check, the signup) under an
 * advisory lock per key, held to commit: racing attempts each see the others' rows, so no more
 * than the limit ever get through, across processes too. Expired rows of the key go in the same
 * transaction, so a key never keeps more than its limit of rows. Returns the new rows' ids by kind.
 */
async function takeSlots(em: Em, budgets: Budget[], message: string): Promise<Partial<Record<AttemptKind, number>>> {
  const active = budgets.filter((budget) => budget.limit > 0);
  if (active.length === 0) return {};
  const taken = await em.transactional(async (tem) => {
    // One lock order for every caller: two attempts that share two keys cannot deadlock.
    const lockNames = active.map(({ kind, key }) => `${kind} ${key}`).sort();
    for (const name of lockNames) await queryRows(tem, sql`select pg_advisory_xact_lock(hashtextextended(${name}, 0))`);
    // Read the clock once the keys are ours: the rows of a key then go in in time order, and the
    // Retry-After is counted from the moment of the answer, not from before a wait for the lock.
    const now = new Date();

    let freeAt = 0;
    for (const { kind, key, limit } of active) {
      const windowStart = new Date(now.getTime() - WINDOW_MS[kind]);
      await tem.nativeDelete(AttemptLog, { kind, key, attemptedAt: { $lte: windowStart } });
      const counted = await tem.find(
        AttemptLog,
        { kind, key, attemptedAt: { $gt: windowStart } },
        { orderBy: { attemptedAt: 'desc' }, limit, fields: ['attemptedAt'] },
      );
      // Full when `limit` attempts are in the window; a slot frees when the oldest of them leaves it.
      if (counted.length >= limit) freeAt = Math.max(freeAt, counted[limit - 1]!.attemptedAt.getTime() + WINDOW_MS[kind]);
    }
    if (freeAt > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil((freeAt - now.getTime()) / 1000));
      throw new AppError('RATE_LIMITED', message, undefined, { 'Retry-After': String(retryAfterSeconds) });
    }
    // One insert per row: insertMany answers with the first id only.
    const ids: number[] = [];
    for (const { kind, key } of active) ids.push(Number(await tem.insert(AttemptLog, { kind, key, attemptedAt: now })));
    return { now, ids };
  });
  await purgeExpiredAttemptsNowAndThen(em, taken.now);
  return Object.fromEntries(active.map(({ kind }, i) => [kind, taken.ids[i]]));
}

/** Most rows are removed per key when that key is counted again; this removes those of keys that never come back. */
export const PURGE_BATCH = 1000;
const PURGE_INTERVAL_MS = 60_000;
let nextPurgeAt = 0;

/**
 * Deletes up to PURGE_BATCH rows that have left their window (oldest first by the age index), so
 * that a flood from many addresses or usernames does not grow the log without bound. PostgreSQL's
 * DELETE has no LIMIT: the rows are picked by ctid in a subquery. Returns how many were deleted.
 */
export async function purgeExpiredAttempts(em: Em, now: Date, batch = PURGE_BATCH): Promise<number> {
  const loginWindowStart = new Date(now.getTime() - WINDOW_MS.login);
  const signupWindowStart = new Date(now.getTime() - WINDOW_MS.signup);
  const result = await em.execute<QueryResult>(
    `delete from "attempt_log" where ctid in (
       select ctid from "attempt_log"
       where "attempted_at" <= ? and ("kind" <> 'signup' or "attempted_at" <= ?)
       limit ?)`,
    [loginWindowStart, signupWindowStart, batch],
    'run',
  );
  return result.affectedRows;
}

/** At most once a minute per process: the global purge costs one indexed statement. */
async function purgeExpiredAttemptsNowAndThen(em: Em, now: Date): Promise<void> {
  if (now.getTime() < nextPurgeAt) return;
  nextPurgeAt = now.getTime() + PURGE_INTERVAL_MS;
  await purgeExpiredAttempts(em, now);
}

/**
 * Signups are budgeted per client address (SIGNUP_RATE_LIMIT per hour). Every attempt that gets
 * as far as hashing counts, a USERNAME_TAKEN one included: each costs a bcrypt hash, and each
 * taken name tells the caller that the account exists.
 */
export function signup(em: Em, config: AppConfig, input: SignupInput, clientAddress: string): Promise<AuthOutput> {
  return withPasswordWork(async () => {
    await takeSlots(em, [{ kind: 'signup', key: clientAddressKey(clientAddress), limit: config.signupRateLimit }], 'Too many signups from this address, try again later');
    const user = em.create(User, {
      username: input.username,
      usernameKey: User.keyFor(input.username),
      passwordHash: '',
    });
    await user.setPassword(input.password, config.bcryptCost);
    try {
      await em.flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw usernameTaken();
      }
      throw error;
    }
    return authResponse(user, config);
  });
}

/** A hash to compare against when the user does not exist, so both failures cost one bcrypt. */
const decoyHashes = new Map<number, Promise<string>>();
const decoyHash = (cost: number) => {
  let hash = decoyHashes.get(cost);
  if (!hash) {
    hash = hashPassword('decoy password that never matches', cost);
    decoyHashes.set(cost, hash);
  }
  return hash;
};

/**
 * Failed logins are limited twice, each a sliding 15-minute log (contract §2): per username and
 * client address (LOGIN_RATE_LIMIT), and per client address across usernames
 * (LOGIN_ADDRESS_RATE_LIMIT, against password spraying). Every attempt takes a slot in both
 * before the password is checked (see takeSlots); a success then resets the per-username log
 * and gives back only its own slot of the address budget. It does not clear the address's
 * earlier failures: one known password says nothing about the guesses at other names, and an
 * attacker with an account of their own could otherwise wipe the budget between sprays.
 */
export function login(em: Em, config: AppConfig, input: LoginInput, clientAddress: string): Promise<AuthOutput> {
  return withPasswordWork(async () => {
    const usernameKey = User.keyFor(input.username);
    const addressKey = clientAddressKey(clientAddress);
    // The address key never contains a space, so `<address> <username>` names one pair only.
    const usernameBudget: Budget = { kind: 'login', key: `${addressKey} ${usernameKey}`, limit: config.loginRateLimit };
    const addressBudget: Budget = { kind: 'login_address', key: addressKey, limit: config.loginAddressRateLimit };
    const slots = await takeSlots(em, [usernameBudget, addressBudget], 'Too many failed login attempts, try again later');

    const user = await em.findOne(User, { usernameKey });
    // Over 72 bytes bcrypt would compare only the first 72, so such a password never matches;
    // it is still checked against the decoy so that the answer takes the same time.
    let passwordMatches = false;
    if (user && Buffer.byteLength(input.password, 'utf8') <= BCRYPT_MAX_PASSWORD_BYTES) passwordMatches = await user.verifyPassword(input.password);
    else await comparePassword(input.password, await decoyHash(config.bcryptCost));
    if (!user || !passwordMatches) throw invalidCredentials();

    // Hashes made under an older BCRYPT_COST are brought to the current one while the password is at hand,
    // so that a raised cost protects every account and known users take as long as unknown ones.
    if (user.passwordCost() !== config.bcryptCost) {
      await user.setPassword(input.password, config.bcryptCost);
      await em.flush();
    }

    if (slots.login !== undefined) await em.nativeDelete(AttemptLog, { kind: 'login', key: usernameBudget.key });
    if (slots.login_address !== undefined) await em.nativeDelete(AttemptLog, { id: slots.login_address });
    return authResponse(user, config);
  });
}

/**
 * Makes sure the configured admin account exists (contract §11): creates it, or
 * promotes an existing user of that name and resets its password. Idempotent.
 * One upsert on the unique username key rather than find-then-insert: replicas
 * starting together each run this, and must neither fail on the unique key nor
 * create two accounts (start-up also serialises it, see src/db/startup-lock.ts).
 */
export async function ensureAdminAccount(em: Em, config: AppConfig): Promise<void> {
  if (!config.admin) return;
  const { username, password } = config.admin;
  const usernameKey = User.keyFor(username);
  const existing = await em.findOne(User, { usernameKey });
  if (existing?.role === 'admin' && (await existing.verifyPassword(password))) return;
  const passwordHash = await hashPassword(password, config.bcryptCost);
  // An existing user keeps its id, display name and creation time; only the role and the password change.
  await em.upsert(
    User,
    { username, usernameKey, passwordHash, role: 'admin' },
    { onConflictFields: ['usernameKey'], onConflictMergeFields: ['role', 'passwordHash'] },
  );
}
