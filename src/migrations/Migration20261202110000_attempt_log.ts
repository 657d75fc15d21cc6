import { Migration } from '@mikro-orm/migrations';

export class Migration20261202110000_attempt_log extends Migration {

  override name = 'Migration20261202110000_attempt_log';

  override up(): void | Promise<void> {
    // One sliding log for the three budgets (per username and address, per address, signups per address)
    // instead of a table per budget.
    this.addSql(`create table "attempt_log" ("id" bigserial primary key, "kind" text not null, "key" text not null, "attempted_at" timestamptz(3) not null);`);
    this.addSql(`alter table "attempt_log" add constraint "attempt_log_kind_check" check ("kind" in ('login', 'login_address', 'signup'));`);
    this.addSql(`create index "attempt_log_window" on "attempt_log" ("kind", "key", "attempted_at");`);
    this.addSql(`create index "attempt_log_age" on "attempt_log" ("attempted_at");`);
    // Failures still inside the 15-minute window keep counting across the upgrade, for both login budgets.
    this.addSql(`insert into "attempt_log" ("kind", "key", "attempted_at") select 'login', "client_address" || ' ' || "username_key", "failed_at" from "login_failure" where "failed_at" > now() - interval '15 minutes';`);
    this.addSql(`insert into "attempt_log" ("kind", "key", "attempted_at") select 'login_address', "client_address", "failed_at" from "login_failure" where "failed_at" > now() - interval '15 minutes';`);
    this.addSql(`drop table "login_failure";`);
  }

}
