import { router } from '../../trpc.js';

export const promoCodesRouter = router({});
