import type { Em } from './orm.js';

/** Inserts the demo catalog when the catalog is empty; returns how many products were added. */
export async function seedDemoCatalog(_em: Em): Promise<number> {
  return 0;
}
