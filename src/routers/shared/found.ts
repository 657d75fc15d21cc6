import type { EntityName, FilterQuery, FindOneOrFailOptions, Loaded } from '@mikro-orm/core';
import type { Em } from '../../db/orm.js';
import { notFound } from '../../errors.js';
import { isUuid } from './schemas.js';

/**
 * "The row, or the contract's 404" in one place. An id that is not a UUID names no
 * row (sent to PostgreSQL it would fail the uuid cast: a 500), and a miss is
 * `notFound(what)`, thrown by MikroORM's findOneOrFail through its fail handler.
 * `where` narrows further: the live rows (`deletedAt: null`), the caller's own.
 */
export async function findOr404<Entity extends object, Hint extends string = never>(
  em: Em,
  entity: EntityName<Entity>,
  what: string,
  id: string,
  where: FilterQuery<Entity>,
  options: Omit<FindOneOrFailOptions<Entity, Hint>, 'failHandler' | 'using'> = {},
): Promise<Loaded<Entity, Hint, never, never>> {
  if (!isUuid(id)) throw notFound(what);
  return em.findOneOrFail<Entity, Hint>(entity, { ...(where as object), id } as FilterQuery<NoInfer<Entity>>, { ...options, failHandler: () => notFound(what) });
}

/**
 * Soft delete of a live row in one statement (a row deleted at the same moment by
 * another request is deleted once: the second answers 404).
 */
export async function softDeleteOr404<Entity extends { deletedAt?: Date | null }>(em: Em, entity: EntityName<Entity>, what: string, id: string): Promise<void> {
  const deleted = isUuid(id) ? await em.nativeUpdate(entity, { id, deletedAt: null } as FilterQuery<Entity>, { deletedAt: new Date() } as never) : 0;
  if (deleted === 0) throw notFound(what);
}
