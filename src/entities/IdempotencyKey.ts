import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { User } from './User.js';

/** A remembered successful checkout, replayed for retries with the same key. */
export const IdempotencyKeySchema = defineEntity({
  name: 'IdempotencyKey',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    user: () => p.manyToOne(User).ref().deleteRule('cascade'),
    key: p.string().length(255),
    /** SHA-256 of the canonical JSON of the request body. */
    requestHash: p.string().length(64),
    responseBody: p.json<unknown>().nullable(),
    orderId: p.uuid().nullable(),
    createdAt: p.datetime(3).onCreate(() => new Date()),
  },
  uniques: [{ name: 'idempotency_key_per_user', properties: ['user', 'key'] }],
  // Expired keys are purged in batches, oldest first.
  indexes: [{ name: 'idempotency_key_created_at', properties: ['createdAt'] }],
});

export class IdempotencyKey extends IdempotencyKeySchema.class {}

IdempotencyKeySchema.setClass(IdempotencyKey);
