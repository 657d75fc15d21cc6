import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { comparePassword, hashCost, hashPassword } from '../lib/password-hashing.js';

export const ROLES = ['customer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    /** As typed at signup; shown back to the user. */
    username: p.string().length(32),
    /** Lower-cased username: uniqueness and login are case-insensitive. */
    usernameKey: p.string().length(32).unique('users_username_key_unique'),
    passwordHash: p.string().length(100).hidden(),
    role: p.enum(ROLES).default('customer'),
    createdAt: p.datetime(3).onCreate(() => new Date()),
  },
});

export class User extends UserSchema.class {
  /**
   * Usernames are ASCII (usernameSchema), so only A–Z is folded: with full Unicode
   * lower-casing the Kelvin sign (U+212A) would be `k`, and `\u212Aate` would log in as `kate`.
   */
  static keyFor(username: string): string {
    return username.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  }

  /** Hashes with bcrypt; the plain password never reaches the database. */
  async setPassword(password: string, cost: number): Promise<void> {
    this.passwordHash = await hashPassword(password, cost);
  }

  verifyPassword(password: string): Promise<boolean> {
    return comparePassword(password, this.passwordHash);
  }

  /** The bcrypt work factor the stored hash was made with (BCRYPT_COST at the time). */
  passwordCost(): number {
    return hashCost(this.passwordHash);
  }
}

UserSchema.setClass(User);
