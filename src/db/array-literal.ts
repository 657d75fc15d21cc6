/**
 * A PostgreSQL array literal, bound as one value and cast in SQL (`?::uuid[]`,
 * `?::int[]`). Only for values that need no quoting: uuids and integers.
 */
export const arrayLiteral = (values: readonly (string | number)[]): string => `{${values.join(',')}}`;
