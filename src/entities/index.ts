import { Cart } from './Cart.js';
import { CartItem } from './CartItem.js';
import { IdempotencyKey } from './IdempotencyKey.js';
import { AttemptLog } from './AttemptLog.js';
import { Order, OrderItem } from './Order.js';
import { Product } from './Product.js';
import { PromoCode } from './PromoCode.js';
import { PromoRedemption } from './PromoRedemption.js';
import { User } from './User.js';

export { Cart, CartItem, IdempotencyKey, AttemptLog, Order, OrderItem, Product, PromoCode, PromoRedemption, User };

export const entities = [User, Product, Cart, CartItem, Order, OrderItem, PromoCode, PromoRedemption, IdempotencyKey, AttemptLog];
