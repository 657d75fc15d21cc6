import { UniqueConstraintViolationException } from '@mikro-orm/core';
import bcrypt from 'bcrypt';
import type { AppConfig } from '../../config.js';
import { issueAccessToken } from '../../context/auth.js';
import type { Em } from '../../db/orm.js';
import { LoginFailure } from '../../entities/LoginFailure.js';
import { User } from '../../entities/User.js';
import { AppError } from '../../errors.js';
import type { AuthOutput, LoginInput, SignupInput, UserOutput } from './schemas.js';

const RATE_LIMIT_WINDOW_MS = 15 * 60 * 1000;

export const toUserOutput = (user: User): UserOutput => ({
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

export async function signup(em: Em, config: AppConfig, input: SignupInput): Promise<AuthOutput> {
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
      throw new AppError('USERNAME_TAKEN', 'This username is already taken');
    }
    throw error;
  }
  return authResponse(user, config);
}

/** A hash to compare against when the user does not exist, so both failures cost one bcrypt. */
const decoyHashes = new Map<number, Promise<string>>();
const decoyHash = (cost: number) => {
  let hash = decoyHashes.get(cost);
  if (!hash) {
    hash = bcrypt.hash('decoy password that never matches', cost);
    decoyHashes.set(cost, hash);
  }
  return hash;
};

/**
 * Failed logins are rate limited per (username, client address) with a sliding
 * 15-minute log; when the limit is reached every attempt gets 429 until the
 * oldest failure leaves the window. A successful login clears the log.
 *
 * Every attempt is logged as a failure *before* the password is checked, under a
 * per-key advisory lock, and the log is cleared only on success: parallel guesses
 * therefore each take a slot, and no more than the limit are ever checked.
 */
async function recordAttempt(em: Em, config: AppConfig, usernameKey: string, clientAddress: string, now: Date): Promise<void> {
  await em.transactional(async (tem) => {
    await tem.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [JSON.stringify(['login', usernameKey, clientAddress])]);
    const windowStart = new Date(now.getTime() - RATE_LIMIT_WINDOW_MS);
    const failures = await tem.find(
      LoginFailure,
      { usernameKey, clientAddress, failedAt: { $gt: windowStart } },
      { orderBy: { failedAt: 'desc' }, limit: config.loginRateLimit, fields: ['failedAt'] },
    );
    if (failures.length >= config.loginRateLimit) {
      const oldestCounted = failures[failures.length - 1]!.failedAt;
      const retryAfterSeconds = Math.max(1, Math.ceil((oldestCounted.getTime() + RATE_LIMIT_WINDOW_MS - now.getTime()) / 1000));
      throw new AppError('RATE_LIMITED', 'Too many failed login attempts, try again later', undefined, {
        'Retry-After': String(retryAfterSeconds),
      });
    }
    await tem.insert(LoginFailure, { usernameKey, clientAddress, failedAt: now });
  });
}

export async function login(
  em: Em,
  config: AppConfig,
  input: LoginInput,
  clientAddress: string,
): Promise<AuthOutput> {
  const usernameKey = User.keyFor(input.username);
  const limited = config.loginRateLimit > 0;
  if (limited) await recordAttempt(em, config, usernameKey, clientAddress, new Date());

  const user = await em.findOne(User, { usernameKey });
  const passwordMatches = user
    ? await user.verifyPassword(input.password)
    : await bcrypt.compare(input.password, await decoyHash(config.bcryptCost));

  if (!user || !passwordMatches) throw new AppError('INVALID_CREDENTIALS', 'Invalid username or password');
  if (limited) await em.nativeDelete(LoginFailure, { usernameKey, clientAddress });
  return authResponse(user, config);
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
  const passwordHash = await bcrypt.hash(password, config.bcryptCost);
  // An existing user keeps its id, display name and creation time; only the role and the password change.
  await em.upsert(
    User,
    { username, usernameKey, passwordHash, role: 'admin' },
    { onConflictFields: ['usernameKey'], onConflictMergeFields: ['role', 'passwordHash'] },
  );
}
