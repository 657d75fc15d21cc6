import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { searchText } from '../lib/search-text.js';

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

interface SearchIndexed {
  refreshSearchText(): void;
}

/** The catalog's list and search indexes, created by migration `Migration20261124120000_catalog`. */
const CATALOG_INDEXES = [
  ['product_search', `using gin ("search_vector") where "deleted_at" is null`],
  ['product_newest', `("created_at" desc, "id") where "deleted_at" is null`],
  ['product_price_asc', `("price_cents", "id") where "deleted_at" is null`],
  ['product_price_desc', `("price_cents" desc, "id") where "deleted_at" is null`],
  ['product_name', `(lower("name") collate "C", "id") where "deleted_at" is null`],
  ['product_category_newest', `(lower("category"), "created_at" desc, "id") where "deleted_at" is null`],
  ['product_category_price_asc', `(lower("category"), "price_cents", "id") where "deleted_at" is null`],
  ['product_category_price_desc', `(lower("category"), "price_cents" desc, "id") where "deleted_at" is null`],
  ['product_category_name', `(lower("category"), lower("name") collate "C", "id") where "deleted_at" is null`],
  ['product_stock', `("stock") where "deleted_at" is null`],
] as const;

export const ProductSchema = defineEntity({
  name: 'Product',
  properties: {
    id: p.uuid().primary().onCreate(() => randomUUID()),
    name: p.string().length(200),
    description: p.text().default(''),
    priceCents: p.integer(),
    imageUrl: p.string().length(2000).nullable(),
    category: p.string().length(64).nullable(),
    stock: p.integer().default(0),
    // onCreate, not default(): a JS default for a json property would be stored as the JSON string "{}".
    attributes: p.json<Attributes>().defaultRaw("'{}'").onCreate(() => ({})),
    /**
     * Normalised (lower-case, accent-free, punctuation-free) copies of the text the
     * search matches. They are computed in JS so the embedded and the server
     * PostgreSQL tokenise identically, with no dependency on the `unaccent`
     * extension or the database locale. `search_vector` is generated from them.
     */
    searchName: p.text().default('').hidden(),
    searchBody: p.text().default('').hidden(),
    /** Maintained by PostgreSQL (migration `Migration20261124120000_catalog`); never selected or written by the app. */
    searchVector: p
      .string()
      .columnType('tsvector')
      .generated(`(setweight(to_tsvector('simple', search_name), 'A') || setweight(to_tsvector('simple', search_body), 'B')) stored`)
      .nullable()
      .lazy()
      .hidden(),
    createdAt: p.datetime(3).onCreate(() => new Date()),
    updatedAt: p.datetime(3).onCreate(() => new Date()).onUpdate(() => new Date()),
    /** Soft delete: orders keep referencing deleted products. */
    deletedAt: p.datetime(3).nullable().hidden(),
  },
  // Declared as raw DDL (the same as in the migration) so that the schema diff knows them by name.
  indexes: CATALOG_INDEXES.map(([name, definition]) => ({ name, expression: `create index "${name}" on "product" ${definition}` })),
  // Checkout's conditional decrements keep stock >= 0; the database guarantees it too.
  checks: [{ name: 'product_stock_non_negative', expression: 'stock >= 0' }],
  hooks: {
    beforeCreate: [(args) => (args.entity as SearchIndexed).refreshSearchText()],
    beforeUpdate: [(args) => (args.entity as SearchIndexed).refreshSearchText()],
  },
});

export class Product extends ProductSchema.class {
  refreshSearchText(): void {
    this.searchName = searchText(this.name);
    const attributeText = Object.values(this.attributes ?? {})
      .filter((v) => typeof v !== 'boolean')
      .map(String);
    this.searchBody = searchText([this.description, this.category ?? '', ...attributeText].join(' '));
  }
}

ProductSchema.setClass(Product);
