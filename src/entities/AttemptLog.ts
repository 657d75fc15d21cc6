import { defineEntity, p } from '@mikro-orm/core';

/**
 * The budgets an attempt is counted against (contract §2, RATE_LIMITED):
 * - `login`: failed logins per username and client address (LOGIN_RATE_LIMIT),
 * - `login_address`: failed logins per client address across usernames (LOGIN_ADDRESS_RATE_LIMIT),
 * - `signup`: signups per client address (SIGNUP_RATE_LIMIT).
 */
export const ATTEMPT_KINDS = ['login', 'login_address', 'signup'] as const;
export type AttemptKind = (typeof ATTEMPT_KINDS)[number];

/**
 * One attempt in a budget's sliding log. Each budget is a count of these rows within its window;
 * keeping them in the database makes the limits hold across processes and restarts.
 */
export const AttemptLogSchema = defineEntity({
  name: 'AttemptLog',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    kind: p.enum(ATTEMPT_KINDS),
    /** The client address key, and for `login` the username key after it (`<address> <username>`). */
    key: p.text(),
    attemptedAt: p.datetime(3),
  },
  indexes: [
    { name: 'attempt_log_window', properties: ['kind', 'key', 'attemptedAt'] },
    // The global purge of expired rows scans by age.
    { name: 'attempt_log_age', properties: ['attemptedAt'] },
  ],
});

export class AttemptLog extends AttemptLogSchema.class {}

AttemptLogSchema.setClass(AttemptLog);
