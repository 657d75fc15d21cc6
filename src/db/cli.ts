/**
 * `npm run db:migrate` / `npm run db:seed`: the same steps the server performs at
 * startup, on the database chosen by DATABASE_URL (embedded PGlite when unset).
 */
import { openDatabase } from './orm.js';
import { seedDemoCatalog } from './seed.js';

const command = process.argv[2];
if (command !== 'migrate' && command !== 'seed') {
  console.error('usage: tsx src/db/cli.ts migrate|seed');
  process.exit(2);
}

// The server validates DATABASE_POOL_MODE (src/config.ts); here only `transaction` changes anything.
const poolMode = process.env.DATABASE_POOL_MODE === 'transaction' ? 'transaction' : 'session';
const orm = await openDatabase({ url: process.env.DATABASE_URL || undefined, poolMode });
try {
  if (command === 'seed') {
    const added = await seedDemoCatalog(orm.em.fork());
    console.log(added > 0 ? `Seeded ${added} demo products.` : 'The catalog is not empty: nothing seeded.');
  } else {
    console.log('Migrations are up to date.');
  }
} finally {
  await orm.close();
}
