import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AppConfig } from '../config.js';
import { User, type Role } from '../entities/User.js';
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
 * Resolves the caller of a protected procedure. Only HS256 is accepted, the token must carry
 * `iat` and `exp` within JWT_EXPIRES_IN of each other, and the user (with the role) is loaded
 * from the database on every request, so tokens of deleted users and forged role claims get nothing.
 */
export async function authenticate(ctx: Context): Promise<User> {
  if (ctx.user) return ctx.user;
  const match = /^Bearer ([^\s]+)$/i.exec(ctx.authorization?.trim() ?? '');
  if (!match?.[1]) throw unauthorized(ctx.authorization ? 'Malformed Authorization header' : 'Authentication required');

  let subject: string | undefined;
  try {
    const payload = jwt.verify(match[1], secretKey(ctx.config), { algorithms: ['HS256'] });
    subject = tokenSubject(payload, ctx.config, Math.floor(Date.now() / 1000));
  } catch {
    throw unauthorized('Invalid or expired token');
  }
  if (!subject) throw unauthorized('Invalid or expired token');

  const user = await ctx.em.findOne(User, { id: subject });
  if (!user) throw unauthorized('Invalid or expired token');
  return user;
}
