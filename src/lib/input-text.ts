import type { FieldIssue } from '../errors.js';

/**
 * Checks on raw request input that no schema can forget: every string (object
 * keys included) must be storable and read back as sent. PostgreSQL text cannot
 * hold U+0000, and a lone UTF-16 surrogate has no UTF-8 form (the driver would
 * store U+FFFD, so two different passwords would hash alike); nor may a key be
 * `__proto__`. Both walks are iterative: a deeply nested body must not overflow
 * the stack of the check that is meant to refuse it.
 */

/** Deeper JSON than any of our inputs needs (the deepest is 3); bounded so no recursive consumer can overflow. */
export const MAX_INPUT_DEPTH = 64;

/** One response names at most this many ill-formed strings. */
const MAX_TEXT_ISSUES = 20;

export const TOO_DEEP_MESSAGE = `Must not be nested more than ${MAX_INPUT_DEPTH} levels deep`;

/**
 * JSON.parse makes `"__proto__"` an ordinary own key, but Zod skips it in records (a
 * guard against prototype pollution): an attribute of that name was accepted and then
 * silently dropped. Refused wherever it appears, like any other name that cannot be
 * stored as sent.
 */
const FORBIDDEN_KEY_MESSAGE = 'The name __proto__ is not allowed';

function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'Must not contain the character U+0000';
  if (!text.isWellFormed()) return 'Must be well-formed Unicode (no lone surrogate code units)';
  return undefined;
}

const isContainer = (value: unknown): value is Record<string, unknown> | unknown[] => {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/** True when arrays/objects are nested more than `max` levels deep (a scalar is depth 0). */
export function nestedDeeperThan(value: unknown, max = MAX_INPUT_DEPTH): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (!isContainer(item.value)) continue;
    if (item.depth === max) return true;
    for (const child of Object.values(item.value)) if (isContainer(child)) stack.push({ value: child, depth: item.depth + 1 });
  }
  return false;
}

/**
 * The ill-formed strings of `input` (values and keys), named by dotted path as in
 * validation errors, in document order; or a single `body` issue when the input is
 * nested too deeply to be walked.
 */
export function illFormedInput(input: unknown): FieldIssue[] {
  if (nestedDeeperThan(input)) return [{ field: 'body', message: TOO_DEEP_MESSAGE }];
  const issues: FieldIssue[] = [];
  const stack: { value: unknown; path: string[] }[] = [{ value: input, path: [] }];
  for (let item = stack.pop(); item && issues.length < MAX_TEXT_ISSUES; item = stack.pop()) {
    const { value, path } = item;
    if (typeof value === 'string') {
      const message = textProblem(value);
      if (message) issues.push({ field: path.length > 0 ? path.join('.') : 'input', message });
      continue;
    }
    if (!isContainer(value)) continue;
    const children: { value: unknown; path: string[] }[] = [];
    for (const [key, child] of Object.entries(value)) {
      const keyMessage = key === '__proto__' ? FORBIDDEN_KEY_MESSAGE : textProblem(key);
      // The key itself cannot be printed faithfully either; the message says that the name is the problem.
      if (keyMessage) issues.push({ field: [...path, key].join('.'), message: `Field name: ${keyMessage}` });
      else children.push({ value: child, path: [...path, key] });
    }
    // Reversed onto the stack so that issues come out in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return issues.slice(0, MAX_TEXT_ISSUES);
}
