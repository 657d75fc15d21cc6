import { Migration } from '@mikro-orm/migrations';

export class Migration20261124120200_cart_checkout extends Migration {

  override name = 'Migration20261124120200_cart_checkout';

  override up(): void | Promise<void> {
    // Last line of defence behind the conditional stock updates: stock can never go negative.
    this.addSql(`alter table "product" add constraint "product_stock_non_negative" check ("stock" >= 0);`);
    this.addSql(`alter table "cart_item" add constraint "cart_item_quantity_range" check ("quantity" >= 1 and "quantity" <= 99);`);
    // The database clock, read while the cart row is locked, orders lines by when they were first added
    // even when two adds land within the same millisecond.
    this.addSql(`alter table "cart_item" alter column "created_at" set default clock_timestamp();`);
    this.addSql(`create index "idempotency_key_created_at" on "idempotency_key" ("created_at");`);
  }

}
