import { z } from 'zod';
import { protectedProcedure, publicProcedure, router } from '../../trpc.js';
import { authOutput, loginInput, signupInput, userOutput } from './schemas.js';
import { login, signup, toUserOutput } from './service.js';

export const authRouter = router({
  signup: publicProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/api/auth/signup',
        tags: ['auth'],
        protect: false,
        summary: 'Create an account',
        description: 'Username 3–32 characters of letters, digits, `_`, `.` and `-` (unique, case-insensitive); password 8–72 bytes. Answers with a token, like login.',
        // The contract gives signup no Location: the account is read back at GET /api/auth/me with the returned token.
        successDescription: 'Account created and signed in; no Location header (read it at GET /api/auth/me with the token)',
      },
      successStatus: 201,
      errors: ['USERNAME_TAKEN', 'RATE_LIMITED'],
    })
    .input(signupInput)
    .output(authOutput)
    .mutation(({ ctx, input }) => signup(ctx.em, ctx.config, input, ctx.clientAddress)),

  login: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/api/auth/login', tags: ['auth'], protect: false, summary: 'Sign in', description: 'Username matched case-insensitively. Repeated failures for one username and address are limited (429 with Retry-After).' }, errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED'] })
    .input(loginInput)
    .output(authOutput)
    .mutation(({ ctx, input }) => login(ctx.em, ctx.config, input, ctx.clientAddress)),

  me: protectedProcedure
    .meta({ openapi: { method: 'GET', path: '/api/auth/me', tags: ['auth'], summary: 'The signed-in user', description: 'The account the bearer token names.' } })
    .input(z.void())
    .output(userOutput)
    .query(({ ctx }) => toUserOutput(ctx.user)),
});
