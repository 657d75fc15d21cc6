import type { Em } from './orm.js';
import { queryPrepared } from './prepared.js';

/**
 * A piece of SQL with `?` placeholders and their values, composable with the
 * `sql` tag. `Row` is the shape of the rows the statement returns, declared
 * where the statement is written (with the types node-postgres produces: `int`
 * as number, `bigint` and `numeric` as string, so statements cast to what they
 * declare), and carried to `queryRows`.
 */
export interface Fragment<Row = unknown> {
  readonly text: string;
  readonly params: readonly unknown[];
  /** Only a type: the rows this statement returns. */
  readonly row?: Row;
}

const isFragment = (value: unknown): value is Fragment =>
  typeof value === 'object' && value !== null && 'text' in value && 'params' in value;

/** Values become bound parameters; nested fragments are spliced in with their own parameters. */
export function sql<Row = unknown>(strings: TemplateStringsArray, ...values: unknown[]): Fragment<Row> {
  let text = strings[0]!;
  const params: unknown[] = [];
  values.forEach((value, i) => {
    if (isFragment(value)) {
      text += value.text;
      params.push(...value.params);
    } else {
      text += '?';
      params.push(value);
    }
    text += strings[i + 1]!;
  });
  return { text, params };
}

export const join = (fragments: readonly Fragment[], separator: string): Fragment => ({
  text: fragments.map((f) => f.text).join(separator),
  params: fragments.flatMap((f) => f.params),
});

/** Trusted SQL text (identifiers, keywords, constants written in the code), never a value from a request. */
export const verbatim = (text: string): Fragment => ({ text, params: [] });

/**
 * Runs one statement (prepared per connection, see queryPrepared) and returns its rows as declared.
 * Given a transaction's EntityManager it runs in that transaction: statements that write belong there,
 * or stand alone as one atomic statement.
 */
export const queryRows = <Row>(em: Em, statement: Fragment<Row>): Promise<Row[]> =>
  queryPrepared<Row>(em, statement.text, statement.params);
