import { Migration } from '@mikro-orm/migrations';

export class Migration20261124120100_promo_orders extends Migration {

  override name = 'Migration20261124120100_promo_orders';

  override up(): void | Promise<void> {
    // Order history loads the items of a whole page with `order_id in (...)`, in position order.
    this.addSql(`create index "order_item_order_position" on "order_item" ("order_id", "position");`);
    // Behind the API's validation and the PATCH row lock: a window that can never be open is refused.
    this.addSql(`alter table "promo_code" add constraint "promo_code_window_order" check ("starts_at" is null or "expires_at" is null or "starts_at" < "expires_at");`);
    this.addSql(`alter table "promo_code" add constraint "promo_code_value_range" check (("type" = 'percent' and "value" between 1 and 100) or ("type" = 'fixed' and "value" between 1 and 100000000));`);
    this.addSql(`alter table "promo_code" add constraint "promo_code_redemption_counts" check ("redemptions" >= 0 and ("max_redemptions" is null or "max_redemptions" >= 1));`);
  }

}
