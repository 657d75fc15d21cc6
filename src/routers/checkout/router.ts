import { router } from '../../trpc.js';

export const checkoutRouter = router({});
