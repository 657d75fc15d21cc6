import { randomBytes } from 'node:crypto';
import type { RequestShape } from './load.js';

/** The production default (src/config.ts): each login of the flood costs the API what a real one does. */
export const FLOOD_BCRYPT_COST = 10;

/**
 * Issue 8 §5: logins of usernames that do not exist. Each one the API admits costs a
 * full bcrypt at FLOOD_BCRYPT_COST (the decoy hash that keeps unknown users as slow as
 * known ones), which is what let 12–20 logins a second push catalog p99 from 30 ms to
 * 1.2 s before password work was bounded.
 */
export const loginFlood = (): RequestShape => ({
  method: 'POST',
  next: () => ({
    path: '/api/auth/login',
    body: JSON.stringify({ username: `flood_${randomBytes(6).toString('hex')}`, password: 'not-the-password' }),
  }),
});
