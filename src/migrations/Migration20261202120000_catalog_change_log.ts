import { Migration } from '@mikro-orm/migrations';

/** Columns of `product` that some list or search filter, or some sort order, reads. */
const LOGGED_COLUMNS = `"id", "name", "category", "price_cents", "stock", "search_vector", "created_at"`;

/**
 * Defaults of the log's two settings, kept in `catalog_state` (tests lower them):
 * - `change_log_bulk_rows`: rows changed by one statement beyond which one `reset` row is logged
 *   instead (a bulk load): every cached figure older than it is then recounted once, which is
 *   cheaper than replaying that many changes;
 * - `change_log_keep`: log rows kept by pruning (about 2 per change; a reader recounts anyway past
 *   5,000 rows since its figure, MAX_REPLAYED_CHANGES); writers prune every keep / 20 rows.
 */
const BULK_ROWS = 10_000;
const KEEP_ROWS = 20_000;

/**
 * Replaces the single catalog version (bumped by any change, so every cached
 * total and page was thrown away) with a change log: each change that can alter
 * which products match a filter or search, or their order, logs the product's
 * state before it (sign −1) and after it (sign +1), live states only. A cached
 * total then moves by the matching log rows since it was counted, and a cached
 * page stays valid unless a logged state at or before its last row changes
 * (src/routers/products/catalog-cache.ts).
 *
 * Which rows are "since": each log row carries the id of the transaction that
 * wrote it (`xid`), and a cached figure keeps the snapshot it was read in
 * (pg_current_snapshot(), read in the same statement). The rows to apply are
 * those visible now and not visible in that snapshot: `xid` at or above the
 * snapshot's xmin and not pg_visible_in_snapshot(). This is exact however
 * transactions interleave and whatever order they commit in, with no lock and
 * no counter shared by writers: a sequence number taken at write time would
 * not be (a transaction may take seq 10, commit after the one that took 11,
 * and a reader in between would skip 10), and one taken under a lock at commit
 * would serialise every catalog write on that lock. `seq` only orders rows for
 * pruning. A row's xid is the top-level transaction's, so changes made in a
 * savepoint become visible with it.
 */
export class Migration20261202120000_catalog_change_log extends Migration {

  override name = 'Migration20261202120000_catalog_change_log';

  override up(): void | Promise<void> {
    // The logged columns mirror product's, so the same filter and sort SQL reads both. `stock` is the
    // stock when the state was logged: changes that keep a product in (or out of) stock are not logged,
    // so only `stock > 0` of a logged state is meaningful, which is all filters read.
    this.addSql(`create table "catalog_change" (
      "seq" bigint generated always as identity primary key,
      "xid" xid8 not null default pg_current_xact_id(),
      "reset" boolean not null default false,
      "sign" smallint not null default 0,
      "id" uuid null,
      "name" varchar(200) null,
      "category" varchar(64) null,
      "price_cents" int null,
      "stock" int null,
      "search_vector" tsvector null,
      "created_at" timestamptz(3) null
    );`);
    this.addSql(`create index "catalog_change_xid" on "catalog_change" ("xid");`);

    // Cached figures read at a snapshot whose xmin is below `change_log_pruned_below` may miss pruned rows: recounted.
    this.addSql(`alter table "catalog_state"
      add column "change_log_pruned_below" xid8 not null default '0',
      add column "change_log_next_prune" bigint not null default ${KEEP_ROWS / 20},
      add column "change_log_keep" bigint not null default ${KEEP_ROWS} check ("change_log_keep" >= 0),
      add column "change_log_bulk_rows" bigint not null default ${BULK_ROWS} check ("change_log_bulk_rows" >= 0);`);

    // Rows whose xid is below the horizon go (the oldest kept row's xid; with nothing kept, every
    // transaction's that has started). Any horizon is safe: a cached snapshot that did not see a pruned row
    // has an xmin at or below that row's xid, so below the horizon, and is recounted. A writer that finds
    // another prune under way (the state row locked until that transaction ends) skips instead of
    // waiting: it may hold product locks, and waiting there could deadlock.
    this.addSql(`create function "prune_catalog_changes"(kept_rows bigint) returns void language plpgsql as $$
      declare
        newest bigint;
        horizon xid8;
      begin
        perform 1 from "catalog_state" for update skip locked;
        if not found then return; end if;
        select max("seq") into newest from "catalog_change";
        select "xid" into horizon from "catalog_change" where "seq" > newest - kept_rows order by "seq" limit 1;
        horizon := coalesce(horizon, pg_snapshot_xmax(pg_current_snapshot()));
        delete from "catalog_change" where "xid" < horizon;
        update "catalog_state" set
          "change_log_pruned_below" = greatest("change_log_pruned_below", horizon),
          "change_log_next_prune" = coalesce(newest, 0) + greatest("change_log_keep" / 20, 1);
      end $$;`);
    this.addSql(`create function "prune_catalog_changes_when_due"() returns void language plpgsql as $$
      declare
        state record;
      begin
        select "change_log_next_prune", "change_log_keep" into state from "catalog_state";
        if state."change_log_next_prune" <= (select max("seq") from "catalog_change") then
          perform "prune_catalog_changes"(state."change_log_keep");
        end if;
      end $$;`);

    // Inserts and deletes: one statement-level trigger each, so a bulk load logs with one INSERT … SELECT.
    this.addSql(`create function "log_catalog_rows_added"() returns trigger language plpgsql as $$
      begin
        if (select count(*) from (select from "added" limit (select "change_log_bulk_rows" + 1 from "catalog_state")) big)
            > (select "change_log_bulk_rows" from "catalog_state") then
          insert into "catalog_change" ("reset") values (true);
        else
          insert into "catalog_change" ("sign", ${LOGGED_COLUMNS})
            select 1, ${LOGGED_COLUMNS} from "added" where "deleted_at" is null;
        end if;
        perform "prune_catalog_changes_when_due"();
        return null;
      end $$;`);
    this.addSql(`create function "log_catalog_rows_removed"() returns trigger language plpgsql as $$
      begin
        if (select count(*) from (select from "removed" limit (select "change_log_bulk_rows" + 1 from "catalog_state")) big)
            > (select "change_log_bulk_rows" from "catalog_state") then
          insert into "catalog_change" ("reset") values (true);
        else
          insert into "catalog_change" ("sign", ${LOGGED_COLUMNS})
            select -1, ${LOGGED_COLUMNS} from "removed" where "deleted_at" is null;
        end if;
        perform "prune_catalog_changes_when_due"();
        return null;
      end $$;`);
    // Updates: row-level with a WHEN clause, evaluated without calling any function, so that an update
    // that changes nothing a filter or order reads (a checkout taking stock 10 down to 9) costs nothing.
    this.addSql(`create function "log_catalog_row_updated"() returns trigger language plpgsql as $$
      begin
        insert into "catalog_change" ("sign", ${LOGGED_COLUMNS})
          select -1, old."id", old."name", old."category", old."price_cents", old."stock", old."search_vector", old."created_at"
          where old."deleted_at" is null
          union all
          select 1, new."id", new."name", new."category", new."price_cents", new."stock", new."search_vector", new."created_at"
          where new."deleted_at" is null;
        perform "prune_catalog_changes_when_due"();
        return null;
      end $$;`);
    this.addSql(`create function "log_catalog_truncated"() returns trigger language plpgsql as $$
      begin
        insert into "catalog_change" ("reset") values (true);
        return null;
      end $$;`);

    this.addSql(`drop trigger "product_rows_changed" on "product";`);
    this.addSql(`drop trigger "product_row_updated" on "product";`);
    this.addSql(`drop trigger "product_price_updated" on "product";`);
    this.addSql(`drop function "bump_catalog_version"();`);
    this.addSql(`drop function "bump_catalog_price_version"();`);
    this.addSql(`alter table "catalog_state" drop column "version", drop column "price_version";`);

    this.addSql(`create trigger "product_rows_added" after insert on "product" referencing new table as "added" for each statement execute function "log_catalog_rows_added"();`);
    this.addSql(`create trigger "product_rows_removed" after delete on "product" referencing old table as "removed" for each statement execute function "log_catalog_rows_removed"();`);
    this.addSql(`create trigger "product_row_updated" after update on "product" for each row when (
      old."id" <> new."id"
      or old."deleted_at" is distinct from new."deleted_at"
      or old."category" is distinct from new."category"
      or old."price_cents" <> new."price_cents"
      or (old."stock" > 0) <> (new."stock" > 0)
      or old."search_name" <> new."search_name"
      or old."search_body" <> new."search_body"
      or old."name" <> new."name"
      or old."created_at" <> new."created_at"
    ) execute function "log_catalog_row_updated"();`);
    this.addSql(`create trigger "product_truncated" after truncate on "product" for each statement execute function "log_catalog_truncated"();`);
  }

}
