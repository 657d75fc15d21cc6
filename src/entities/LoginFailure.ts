import { defineEntity, p } from '@mikro-orm/core';

/**
 * One failed login. The rate limit is a sliding log over these rows (contract §2,
 * RATE_LIMITED); keeping them in the database makes the limit hold across
 * processes and restarts.
 */
export const LoginFailureSchema = defineEntity({
  name: 'LoginFailure',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    usernameKey: p.string().length(256),
    clientAddress: p.string().length(64),
    failedAt: p.datetime(3),
  },
  indexes: [{ name: 'login_failure_window', properties: ['usernameKey', 'clientAddress', 'failedAt'] }],
});

export class LoginFailure extends LoginFailureSchema.class {}

LoginFailureSchema.setClass(LoginFailure);
