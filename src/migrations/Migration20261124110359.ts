import { Migration } from '@mikro-orm/migrations';

export class Migration20261124110359 extends Migration {

  override name = 'Migration20261124110359';

  override up(): void | Promise<void> {
    this.addSql(`create table "login_failure" ("id" bigserial primary key, "username_key" varchar(256) not null, "client_address" varchar(64) not null, "failed_at" timestamptz(3) not null);`);
    this.addSql(`create index "login_failure_window" on "login_failure" ("username_key", "client_address", "failed_at");`);

    this.addSql(`create table "product" ("id" uuid not null, "name" varchar(200) not null, "description" text not null default '', "price_cents" int not null, "image_url" varchar(2000) null, "category" varchar(64) null, "stock" int not null default 0, "attributes" jsonb not null default '{}', "search_name" text not null default '', "search_body" text not null default '', "created_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, "deleted_at" timestamptz(3) null, primary key ("id"));`);

    this.addSql(`create table "promo_code" ("id" uuid not null, "code" varchar(32) not null, "type" text not null, "value" int not null, "active" boolean not null default true, "starts_at" timestamptz(3) null, "expires_at" timestamptz(3) null, "max_redemptions" int null, "redemptions" int not null default 0, "min_subtotal_cents" int not null default 0, "created_at" timestamptz(3) not null, "deleted_at" timestamptz(3) null, primary key ("id"));`);
    this.addSql(`create unique index "promo_code_live_code_unique" on "promo_code" ("code") where "deleted_at" is null;`);
    this.addSql(`alter table "promo_code" add constraint "promo_code_type_check" check ("type" in ('percent', 'fixed'));`);

    this.addSql(`create table "users" ("id" uuid not null, "username" varchar(32) not null, "username_key" varchar(32) not null, "password_hash" varchar(100) not null, "role" text not null default 'customer', "created_at" timestamptz(3) not null, primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_username_key_unique" unique ("username_key");`);
    this.addSql(`alter table "users" add constraint "users_role_check" check ("role" in ('customer', 'admin'));`);

    this.addSql(`create table "orders" ("id" uuid not null, "user_id" uuid not null, "status" text not null default 'placed', "item_count" int not null, "subtotal_cents" int not null, "discount_cents" int not null, "total_cents" int not null, "currency" varchar(3) not null, "promo_code" varchar(32) null, "created_at" timestamptz(3) not null, primary key ("id"));`);
    this.addSql(`create index "orders_user_history" on "orders" ("user_id", "created_at", "id");`);
    this.addSql(`alter table "orders" add constraint "orders_status_check" check ("status" in ('placed'));`);

    this.addSql(`create table "promo_redemption" ("id" uuid not null, "promo_code_id" uuid not null, "user_id" uuid not null, "order_id" uuid not null, "created_at" timestamptz(3) not null, primary key ("id"));`);
    this.addSql(`alter table "promo_redemption" add constraint "promo_redemption_once_per_user" unique ("promo_code_id", "user_id");`);

    this.addSql(`create table "order_item" ("id" uuid not null, "order_id" uuid not null, "position" int not null, "product_id" uuid not null, "name" varchar(200) not null, "unit_price_cents" int not null, "quantity" int not null, "line_total_cents" int not null, primary key ("id"));`);

    this.addSql(`create table "idempotency_key" ("id" uuid not null, "user_id" uuid not null, "key" varchar(255) not null, "request_hash" varchar(64) not null, "response_body" jsonb null, "order_id" uuid null, "created_at" timestamptz(3) not null, primary key ("id"));`);
    this.addSql(`alter table "idempotency_key" add constraint "idempotency_key_per_user" unique ("user_id", "key");`);

    this.addSql(`create table "cart" ("id" uuid not null, "user_id" uuid not null, "status" text not null default 'active', "promo_code" varchar(32) null, "created_at" timestamptz(3) not null, "updated_at" timestamptz(3) not null, primary key ("id"));`);
    this.addSql(`create unique index "cart_one_active_per_user" on "cart" ("user_id") where "status" = 'active';`);
    this.addSql(`alter table "cart" add constraint "cart_status_check" check ("status" in ('active', 'checked_out'));`);

    this.addSql(`create table "cart_item" ("id" uuid not null, "cart_id" uuid not null, "product_id" uuid not null, "quantity" int not null, "created_at" timestamptz(6) not null, primary key ("id"));`);
    this.addSql(`alter table "cart_item" add constraint "cart_item_one_line_per_product" unique ("cart_id", "product_id");`);

    this.addSql(`alter table "orders" add constraint "orders_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);

    this.addSql(`alter table "promo_redemption" add constraint "promo_redemption_promo_code_id_foreign" foreign key ("promo_code_id") references "promo_code" ("id") on delete cascade;`);
    this.addSql(`alter table "promo_redemption" add constraint "promo_redemption_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);
    this.addSql(`alter table "promo_redemption" add constraint "promo_redemption_order_id_foreign" foreign key ("order_id") references "orders" ("id") on delete cascade;`);

    this.addSql(`alter table "order_item" add constraint "order_item_order_id_foreign" foreign key ("order_id") references "orders" ("id") on delete cascade;`);

    this.addSql(`alter table "idempotency_key" add constraint "idempotency_key_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);

    this.addSql(`alter table "cart" add constraint "cart_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`);

    this.addSql(`alter table "cart_item" add constraint "cart_item_cart_id_foreign" foreign key ("cart_id") references "cart" ("id") on delete cascade;`);
    this.addSql(`alter table "cart_item" add constraint "cart_item_product_id_foreign" foreign key ("product_id") references "product" ("id") on delete cascade;`);
  }

}
