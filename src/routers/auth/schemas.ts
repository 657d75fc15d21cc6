import { z } from 'zod';
import { isoTimestamp, outputId, outputInteger } from '../shared/schemas.js';

export const usernameSchema = z
  .string()
  .trim()
  .min(3, 'Must be 3 to 32 characters')
  .max(32, 'Must be 3 to 32 characters')
  .regex(/^[A-Za-z0-9_.-]+$/, 'May contain only letters, digits, "_", "." and "-"');

/**
 * bcrypt only reads 72 bytes: longer passwords are rejected rather than silently truncated.
 * A lone surrogate has no UTF-8 form (it would hash as U+FFFD, so `…\ud800` and `…\udbff`
 * would be one password): the input middleware refuses it, and so does the schema itself.
 */
export const passwordSchema = z.string().refine((password) => password.isWellFormed(), 'Must be well-formed Unicode (no lone surrogate code units)').refine(
  (password) => {
    const bytes = Buffer.byteLength(password, 'utf8');
    return bytes >= 8 && bytes <= 72;
  },
  { message: 'Must be 8 to 72 bytes of UTF-8' },
);

export const signupInput = z
  .strictObject({ username: usernameSchema, password: passwordSchema })
  .meta({ examples: [{ username: 'ada', password: 'correct horse battery' }] });

export const loginInput = z
  .strictObject({
    username: z.string().trim().min(1, 'Required').max(256, 'Must be at most 256 characters'),
    password: z.string().min(1, 'Required').max(256, 'Must be at most 256 characters'),
  })
  .meta({ examples: [{ username: 'ada', password: 'correct horse battery' }] });

const userExample = { id: '3f1c9a52-7d2e-4b8a-9c41-6e0d5b7a2f13', username: 'ada', role: 'customer', createdAt: '2026-11-24T10:00:00.000Z' };

export const userOutput = z
  .object({
    id: outputId,
    username: z.string(),
    role: z.enum(['customer', 'admin']),
    createdAt: isoTimestamp,
  })
  .meta({ id: 'User', examples: [userExample] });

export const authOutput = z
  .object({
    accessToken: z.string().describe('JWT to send as `Authorization: Bearer <token>`'),
    tokenType: z.literal('Bearer'),
    expiresIn: outputInteger({ minimum: 60, maximum: 604_800 }).describe('Seconds until the token expires'),
    user: userOutput,
  })
  .meta({
    id: 'AuthSession',
    examples: [
      {
        accessToken: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzZjFjOWE1MiIsInJvbGUiOiJjdXN0b21lciJ9.c2lnbmF0dXJl',
        tokenType: 'Bearer',
        expiresIn: 3600,
        user: userExample,
      },
    ],
  });

export type SignupInput = z.infer<typeof signupInput>;
export type LoginInput = z.infer<typeof loginInput>;
export type UserOutput = z.infer<typeof userOutput>;
export type AuthOutput = z.infer<typeof authOutput>;
