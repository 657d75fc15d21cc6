import type pg from 'pg';
import { cpuSecondsOf } from './processes.js';

/**
 * Average number of the server's database connections in each state while a
 * scenario ran, from pg_stat_activity samples. It tells where a slow scenario
 * waits: on PostgreSQL's CPU (running), on row locks (lockWait), or on the app
 * between two statements of an open transaction (idleInTransaction).
 */
export interface DatabaseActivity {
  samples: number;
  /**
   * CPU seconds the server's PostgreSQL backends and their parallel workers used
   * (PostgreSQL runs on this machine). Workers shorter than a sampling interval
   * escape it; "other cores" in the report catches what is missed.
   */
  cpuSeconds: number;
  running: number;
  lockWait: number;
  otherWait: number;
  idleInTransaction: number;
}

export interface ActivitySampler {
  stop(): Promise<DatabaseActivity>;
}

/** Parallel query workers count for CPU (they work for the server's queries) but not as connections. */
const SAMPLE = `
  with backends as (
    select a.pid, a.backend_type, a.state, a.wait_event_type
    from pg_stat_activity a
    left join pg_stat_activity leader on leader.pid = a.leader_pid
    where a.datname = current_database() and a.pid <> pg_backend_pid()
      and coalesce(leader.application_name, a.application_name) <> 'storefront-bench'
      and a.backend_type in ('client backend', 'parallel worker'))
  select array_agg(pid) as pids,
         count(*) filter (where backend_type = 'client backend' and state = 'active' and wait_event_type is null) as running,
         count(*) filter (where backend_type = 'client backend' and state = 'active' and wait_event_type = 'Lock') as lock_wait,
         count(*) filter (where backend_type = 'client backend' and state = 'active' and wait_event_type not in ('Lock', 'Client')) as other_wait,
         count(*) filter (where backend_type = 'client backend' and state like 'idle in transaction%') as idle_in_transaction
  from backends`;

interface SampleRow {
  pids: number[] | null;
  running: string;
  lock_wait: string;
  other_wait: string;
  idle_in_transaction: string;
}

/** Samples on its own connection (`client` must be used by nothing else meanwhile). */
export function sampleDatabaseActivity(client: pg.Client, intervalMs = 100): ActivitySampler {
  const totals = { samples: 0, running: 0, lockWait: 0, otherWait: 0, idleInTransaction: 0 };
  // Per backend: CPU seconds when first and last seen, so backends opened mid-run count from their start.
  const backends = new Map<number, { first: number; last: number }>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await client.query<SampleRow>(SAMPLE);
      const row = rows[0];
      if (row) {
        for (const pid of row.pids ?? []) {
          const cpu = cpuSecondsOf(pid);
          const seen = backends.get(pid);
          if (seen) seen.last = Math.max(seen.last, cpu);
          else backends.set(pid, { first: totals.samples === 0 ? cpu : 0, last: cpu });
        }
        totals.samples += 1;
        totals.running += Number(row.running);
        totals.lockWait += Number(row.lock_wait);
        totals.otherWait += Number(row.other_wait);
        totals.idleInTransaction += Number(row.idle_in_transaction);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  const average = (sum: number) => (totals.samples === 0 ? 0 : Math.round((sum / totals.samples) * 100) / 100);
  return {
    stop: async () => {
      stopped = true;
      await loop;
      const cpuSeconds = [...backends.values()].reduce((sum, { first, last }) => sum + (last - first), 0);
      return {
        samples: totals.samples,
        cpuSeconds: Math.round(cpuSeconds * 100) / 100,
        running: average(totals.running),
        lockWait: average(totals.lockWait),
        otherWait: average(totals.otherWait),
        idleInTransaction: average(totals.idleInTransaction),
      };
    },
  };
}
