import { Migration } from '@mikro-orm/migrations';

export class Migration20261202100000_wide_money extends Migration {

  override name = 'Migration20261202100000_wide_money';

  override up(): void | Promise<void> {
    // A line (99 × 1,000,000.00) and the sums over a cart (up to 1,000 lines) exceed a 4-byte integer of
    // cents (2,147,483,647 = 21,474,836.47): 22 such units made the order insert fail. 8 bytes hold every cart
    // the limits allow (at most 9.9e12 cents), and JavaScript numbers hold such integers exactly (< 2^53).
    this.addSql(`alter table "orders" alter column "subtotal_cents" type bigint, alter column "discount_cents" type bigint, alter column "total_cents" type bigint;`);
    this.addSql(`alter table "order_item" alter column "line_total_cents" type bigint;`);
  }

}
