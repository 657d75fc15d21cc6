// Used by the MikroORM CLI (`npm run db:migrate`, `npm run db:migration:create`).
import { ormOptions } from './src/db/orm.js';

export default ormOptions({ url: process.env.DATABASE_URL });
