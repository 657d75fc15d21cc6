import { Migration } from '@mikro-orm/migrations';

/**
 * Catalog search, listing indexes and the catalog version that keeps cached
 * page totals exact.
 */
export class Migration20261124120000_catalog extends Migration {

  override name = 'Migration20261124120000_catalog';

  override up(): void | Promise<void> {
    // Weighted so that name matches (A) rank above matches elsewhere (B). The inputs are already
    // normalised in JS, and the 'simple' configuration does no stemming or stop-word removal.
    this.addSql(`alter table "product" add column "search_vector" tsvector generated always as (setweight(to_tsvector('simple', "search_name"), 'A') || setweight(to_tsvector('simple', "search_body"), 'B')) stored;`);
    this.addSql(`create index "product_search" on "product" using gin ("search_vector") where "deleted_at" is null;`);

    // One index per sort order, alone and behind the category filter; `id` is the tie-breaker.
    // Name order uses the "C" collation so every database orders names identically.
    this.addSql(`create index "product_newest" on "product" ("created_at" desc, "id") where "deleted_at" is null;`);
    this.addSql(`create index "product_price_asc" on "product" ("price_cents", "id") where "deleted_at" is null;`);
    this.addSql(`create index "product_price_desc" on "product" ("price_cents" desc, "id") where "deleted_at" is null;`);
    this.addSql(`create index "product_name" on "product" (lower("name") collate "C", "id") where "deleted_at" is null;`);
    this.addSql(`create index "product_category_newest" on "product" (lower("category"), "created_at" desc, "id") where "deleted_at" is null;`);
    this.addSql(`create index "product_category_price_asc" on "product" (lower("category"), "price_cents", "id") where "deleted_at" is null;`);
    this.addSql(`create index "product_category_price_desc" on "product" (lower("category"), "price_cents" desc, "id") where "deleted_at" is null;`);
    this.addSql(`create index "product_category_name" on "product" (lower("category"), lower("name") collate "C", "id") where "deleted_at" is null;`);
    this.addSql(`create index "product_stock" on "product" ("stock") where "deleted_at" is null;`);

    // Bumped whenever a change can alter which products match some list or search filter, or
    // their order; cached totals and page contents are only trusted at the version they were read at.
    this.addSql(`create table "catalog_state" ("singleton" boolean primary key default true check ("singleton"), "version" bigint not null default 0);`);
    this.addSql(`insert into "catalog_state" default values;`);
    this.addSql(`create function "bump_catalog_version"() returns trigger language plpgsql as $$ begin update "catalog_state" set "version" = "version" + 1; return null; end $$;`);
    this.addSql(`create trigger "product_rows_changed" after insert or delete or truncate on "product" for each statement execute function "bump_catalog_version"();`);
    // Deferred to commit so that the lock on the version row is always the last lock a transaction
    // takes (no deadlock with checkouts locking products); stock changes that keep a product in
    // (or out of) stock, such as a checkout taking 10 down to 9, never bump the version at all.
    this.addSql(`create constraint trigger "product_row_updated" after update on "product" deferrable initially deferred for each row when (
      old."deleted_at" is distinct from new."deleted_at"
      or old."category" is distinct from new."category"
      or old."price_cents" <> new."price_cents"
      or (old."stock" > 0) <> (new."stock" > 0)
      or old."search_name" <> new."search_name"
      or old."search_body" <> new."search_body"
      or old."name" <> new."name"
      or old."created_at" <> new."created_at"
    ) execute function "bump_catalog_version"();`);
  }

}
