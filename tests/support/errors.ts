import { expect } from 'vitest';
import { toAppError } from '../../src/error-mapping.js';
import type { AppError } from '../../src/errors.js';

/** The contract error a procedure call or service call failed with; fails the test if it succeeded. */
export async function failure(call: Promise<unknown>): Promise<AppError> {
  const error = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  return toAppError(error);
}

/** Asserts the call failed with `code` (and, for validation errors, named `field`). */
export async function expectAppError(call: Promise<unknown>, code: string, field?: string): Promise<AppError> {
  const appError = await failure(call);
  expect(appError.code).toBe(code);
  if (field) expect(appError.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  return appError;
}
