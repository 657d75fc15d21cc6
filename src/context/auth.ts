import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import type { AppConfig } from '../config.js';
import type { Em } from '../db/orm.js';
import { queryRows, sql } from '../db/sql.js';
import type { Role, User } from '../entities/User.js';
import { unauthorized } from '../errors.js';
import type { Context } from './context.js';

interface AccessTokenClaims {
  sub: string;
  role: Role;
}

/** jsonwebtoken rebuilds a key object from a string secret on every call; build it once per config. */
const secretKeys = new WeakMap<AppConfig, KeyObject>();
function secretKey(config: AppConfig): KeyObject {
  let key = secretKeys.get(config);
  if (!key) {
    key = createSecretKey(Buffer.from(config.jwtSecret, 'utf8'));
    secretKeys.set(config, key);
  }
  return key;
}

export function issueAccessToken(user: User, config: AppConfig): string {
  const claims: AccessTokenClaims = { sub: user.id, role: user.role };
  return jwt.sign(claims, secretKey(config), { algorithm: 'HS256', expiresIn: config.jwtExpiresInSeconds });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * How far another clock may be ahead of ours for `iat` (seconds). The lifetime `exp - iat` gets
 * no tolerance: our signer computes both from one clock reading, so it is exactly JWT_EXPIRES_IN.
 */
export const TOKEN_CLOCK_SKEW_SECONDS = 5;

/**
 * The subject of a token that this server could have issued under the current settings, else
 * undefined. jsonwebtoken checks `exp` only when it is present, and `iat` not at all: a token
 * signed with a leaked or reused key, or under a longer JWT_EXPIRES_IN, must not live forever.
 */
function tokenSubject(payload: string | jwt.JwtPayload, config: AppConfig, nowSeconds: number): string | undefined {
  if (typeof payload !== 'object') return undefined;
  const { sub, iat, exp } = payload;
  if (typeof iat !== 'number' || typeof exp !== 'number') return undefined;
  if (iat > nowSeconds + TOKEN_CLOCK_SKEW_SECONDS) return undefined;
  if (exp - iat > config.jwtExpiresInSeconds) return undefined;
  return typeof sub === 'string' && UUID.test(sub) ? sub : undefined;
}

/**
 * The user id a request's token proves, its user row not read yet. Only HS256 is accepted, and
 * the token must carry `iat` and `exp` within JWT_EXPIRES_IN of each other. A user already in the
 * context (tests, `createCaller`) is taken as it is.
 */
export function tokenCaller(ctx: Context): TokenCaller {
  if (ctx.user) return { id: ctx.user.id };
  const match = /^Bearer ([^\s]+)$/i.exec(ctx.authorization?.trim() ?? '');
  if (!match?.[1]) throw unauthorized(ctx.authorization ? 'Malformed Authorization header' : 'Authentication required');

  const token = match[1];
  const nowSeconds = Math.floor(Date.now() / 1000);
  const known = verifiedTokensOf(ctx.config);
  const verified = known.get(token);
  // As jsonwebtoken decides: expired from the second `exp` names.
  if (verified) {
    if (nowSeconds < verified.exp) return { id: verified.subject };
    known.delete(token);
    throw unauthorized('Invalid or expired token');
  }

  let subject: string | undefined;
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, secretKey(ctx.config), { algorithms: ['HS256'] });
    subject = tokenSubject(payload, ctx.config, nowSeconds);
  } catch {
    throw unauthorized('Invalid or expired token');
  }
  if (!subject) throw unauthorized('Invalid or expired token');
  // Only a token whose every time claim is accounted for above: exp (checked on each use), iat (cannot
  // become valid-in-the-future later) and no nbf (we never issue one).
  if (typeof payload === 'object' && payload.nbf === undefined) known.set(token, { subject, exp: payload.exp! });
  return { id: subject };
}

/**
 * Tokens this process has verified, by their exact text, with what verification proved. A signed-in
 * client sends the same token on every request, and verifying it (base64, HMAC, JSON) was about 7 % of
 * the CPU of `GET /api/cart`. A hit skips only the signature work: the user row is still read on every
 * request, and expiry is checked on every use. Per configuration, so per secret; bounded.
 */
const verifiedTokens = new WeakMap<AppConfig, LRUCache<string, { subject: string; exp: number }>>();
const MAX_VERIFIED_TOKENS = 10_000;

function verifiedTokensOf(config: AppConfig): LRUCache<string, { subject: string; exp: number }> {
  let known = verifiedTokens.get(config);
  if (!known) {
    known = new LRUCache({ max: MAX_VERIFIED_TOKENS });
    verifiedTokens.set(config, known);
  }
  return known;
}

/** What a verified token says of its caller, before the user row is read. */
export interface TokenCaller {
  id: string;
}

/** The answer for a valid token whose user no longer exists. */
export const unknownTokenUser = () => unauthorized('Invalid or expired token');

/**
 * Resolves the caller of a protected procedure: a verified token (tokenCaller) whose user is
 * loaded from the database on every request, so tokens of deleted users and forged role claims
 * get nothing.
 */
export async function authenticate(ctx: Context): Promise<SignedInUser> {
  if (ctx.user) return ctx.user;
  const user = await signedInUser(ctx.em, tokenCaller(ctx).id);
  if (!user) throw unknownTokenUser();
  return user;
}

/** The caller as procedures see it: the fields of the users row they use, read on every request. */
export type SignedInUser = Pick<User, 'id' | 'username' | 'role' | 'createdAt'>;

/**
 * Read as a plain row, prepared once per connection: every protected request runs it,
 * and the entity lookup (find, hydrate, identity map) cost more CPU than the cart read itself.
 */
async function signedInUser(em: Em, id: string): Promise<SignedInUser | undefined> {
  const [row] = await queryRows(
    em,
    sql<{ id: string; username: string; role: Role; createdAt: string }>`
      select id, username, role, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "createdAt"
      from users where id = ${id}::uuid`,
  );
  return row && { ...row, createdAt: new Date(row.createdAt) };
}
