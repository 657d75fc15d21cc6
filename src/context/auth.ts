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
 * Resolves the caller of a protected procedure. Only HS256 is accepted, and the
 * user (with the role) is loaded from the database on every request, so tokens of
 * deleted users and forged role claims get nothing.
 */
export async function authenticate(ctx: Context): Promise<User> {
  if (ctx.user) return ctx.user;
  const match = /^Bearer ([^\s]+)$/i.exec(ctx.authorization?.trim() ?? '');
  if (!match?.[1]) throw unauthorized(ctx.authorization ? 'Malformed Authorization header' : 'Authentication required');

  let subject: unknown;
  try {
    const payload = jwt.verify(match[1], secretKey(ctx.config), { algorithms: ['HS256'] });
    subject = typeof payload === 'object' ? payload.sub : undefined;
  } catch {
    throw unauthorized('Invalid or expired token');
  }
  if (typeof subject !== 'string' || !UUID.test(subject)) throw unauthorized('Invalid or expired token');

  const user = await ctx.em.findOne(User, { id: subject });
  if (!user) throw unauthorized('Invalid or expired token');
  return user;
}
