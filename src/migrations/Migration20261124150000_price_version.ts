import { Migration } from '@mikro-orm/migrations';

export class Migration20261124150000_price_version extends Migration {

  override name = 'Migration20261124150000_price_version';

  override up(): void | Promise<void> {
    // A price change alters only what depends on prices (price filters and price sorts): it gets a
    // counter of its own, so that it no longer invalidates cached text searches and newest-first pages.
    this.addSql(`alter table "catalog_state" add column "price_version" bigint not null default 0;`);
    this.addSql(`create function "bump_catalog_price_version"() returns trigger language plpgsql as $$ begin update "catalog_state" set "price_version" = "price_version" + 1; return null; end $$;`);
    this.addSql(`drop trigger "product_row_updated" on "product";`);
    // Deferred to commit like before: the version row is the last lock a transaction takes.
    this.addSql(`create constraint trigger "product_row_updated" after update on "product" deferrable initially deferred for each row when (
      old."deleted_at" is distinct from new."deleted_at"
      or old."category" is distinct from new."category"
      or (old."stock" > 0) <> (new."stock" > 0)
      or old."search_name" <> new."search_name"
      or old."search_body" <> new."search_body"
      or old."name" <> new."name"
      or old."created_at" <> new."created_at"
    ) execute function "bump_catalog_version"();`);
    this.addSql(`create constraint trigger "product_price_updated" after update on "product" deferrable initially deferred for each row when (
      old."price_cents" <> new."price_cents"
    ) execute function "bump_catalog_price_version"();`);
  }

}
