import { Product, type Attributes } from '../entities/Product.js';
import type { Em } from './orm.js';

/**
 * A fixed demo catalog: product lines per category, each offered in a few
 * variants. Everything (stock, prices, missing images, creation order) is
 * derived from positions in these lists, so every install gets the same shop.
 */
interface ProductLine {
  name: string;
  description: string;
  priceCents: number;
  attributes: Attributes;
}

interface Variant {
  label: string;
  priceDeltaCents: number;
  attributes: Attributes;
}

interface CategoryCatalog {
  category: string;
  lines: ProductLine[];
  variants: Variant[];
}

const colours = (...names: string[]): Variant[] =>
  names.map((name, i) => ({ label: name, priceDeltaCents: i * 200, attributes: { color: name.toLowerCase() } }));

const CATALOG: CategoryCatalog[] = [
  {
    category: 'footwear',
    variants: colours('Blue', 'Black', 'Orange'),
    lines: [
      { name: 'Kestrel Trail Running Shoe', description: 'Light trail shoe with a grippy lugged sole and a breathable mesh upper.', priceCents: 8999, attributes: { brand: 'Kestrel', size: 42, waterproof: false } },
      { name: 'Northwind Waterproof Hiking Boot', description: 'Mid-height leather boot with a waterproof membrane for wet mountain trails.', priceCents: 14950, attributes: { brand: 'Northwind', size: 43, waterproof: true } },
      { name: 'Harbor Canvas Sneaker', description: 'Everyday low-top sneaker in washed canvas with a cushioned insole.', priceCents: 4999, attributes: { brand: 'Harbor', size: 41, waterproof: false } },
      { name: 'Kestrel Road Running Shoe', description: 'Responsive road running shoe with a carbon-infused plate for tempo days.', priceCents: 12900, attributes: { brand: 'Kestrel', size: 44, waterproof: false } },
      { name: 'Juniper Wool Slipper', description: 'Warm felted wool slipper with a non-slip suede sole.', priceCents: 3450, attributes: { brand: 'Juniper', size: 40, material: 'wool' } },
      { name: 'Driftwood Leather Sandal', description: 'Adjustable leather sandal with a contoured cork footbed.', priceCents: 5995, attributes: { brand: 'Driftwood', size: 42, material: 'leather' } },
    ],
  },
  {
    category: 'apparel',
    variants: [
      { label: 'S', priceDeltaCents: 0, attributes: { size: 'S' } },
      { label: 'M', priceDeltaCents: 0, attributes: { size: 'M' } },
      { label: 'L', priceDeltaCents: 300, attributes: { size: 'L' } },
    ],
    lines: [
      { name: 'Bluepeak Merino Base Layer', description: 'Soft merino wool long-sleeve top that regulates temperature on cold hikes.', priceCents: 6900, attributes: { brand: 'Bluepeak', color: 'charcoal', material: 'merino wool' } },
      { name: 'Foxglove Rain Jacket', description: 'Packable, seam-sealed rain jacket with an adjustable hood.', priceCents: 11900, attributes: { brand: 'Foxglove', color: 'yellow', waterproof: true } },
      { name: 'Granite Fleece Hoodie', description: 'Cosy recycled fleece hoodie with a kangaroo pocket.', priceCents: 5499, attributes: { brand: 'Granite', color: 'grey', material: 'recycled polyester' } },
      { name: 'Meridian Organic Cotton T-Shirt', description: 'Classic crew-neck tee in heavyweight organic cotton.', priceCents: 2499, attributes: { brand: 'Meridian', color: 'white', material: 'organic cotton' } },
      { name: 'Ironbark Hiking Trousers', description: 'Stretch hiking trousers with zip-off legs and a durable water-repellent finish.', priceCents: 7990, attributes: { brand: 'Ironbark', color: 'olive', waterproof: false } },
      { name: 'Nimbus Down Vest', description: 'Lightweight 700-fill down vest that packs into its own pocket.', priceCents: 9500, attributes: { brand: 'Nimbus', color: 'navy', fill: 700 } },
    ],
  },
  {
    category: 'outdoor',
    variants: colours('Green', 'Sand', 'Red'),
    lines: [
      { name: 'Northwind Two-Person Tent', description: 'Freestanding backpacking tent with two doors and a full-coverage fly.', priceCents: 24900, attributes: { brand: 'Northwind', capacity: 2, weightGrams: 1850 } },
      { name: 'Kestrel 30L Daypack', description: 'Ventilated 30-litre daypack with a hip belt and hydration sleeve.', priceCents: 8950, attributes: { brand: 'Kestrel', volumeLitres: 30, waterproof: false } },
      { name: 'Evergreen Down Sleeping Bag', description: 'Mummy sleeping bag rated to -5 °C with water-resistant down.', priceCents: 18900, attributes: { brand: 'Evergreen', comfortCelsius: -5, weightGrams: 980 } },
      { name: 'Lumen Rechargeable Headlamp', description: 'USB-C rechargeable 400-lumen headlamp with a red night mode.', priceCents: 3999, attributes: { brand: 'Lumen', lumens: 400, waterproof: true } },
      { name: 'Copperline Trekking Poles', description: 'Pair of collapsible aluminium trekking poles with cork grips.', priceCents: 6495, attributes: { brand: 'Copperline', material: 'aluminium', foldable: true } },
      { name: 'Orchard Camp Stove', description: 'Compact gas canister stove that boils a litre of water in four minutes.', priceCents: 4550, attributes: { brand: 'Orchard', fuel: 'gas', weightGrams: 85 } },
    ],
  },
  {
    category: 'electronics',
    variants: colours('Black', 'White', 'Silver'),
    lines: [
      { name: 'Meridian Wireless Headphones', description: 'Over-ear noise-cancelling headphones with 30 hours of battery life.', priceCents: 19900, attributes: { brand: 'Meridian', wireless: true, batteryHours: 30 } },
      { name: 'Lumen Bluetooth Speaker', description: 'Portable waterproof speaker with deep bass and a built-in strap.', priceCents: 7999, attributes: { brand: 'Lumen', wireless: true, waterproof: true } },
      { name: 'Copperline USB-C Charger', description: 'Compact 65 W USB-C charger with two ports for laptop and phone.', priceCents: 3499, attributes: { brand: 'Copperline', watts: 65, ports: 2 } },
      { name: 'Nimbus Mechanical Keyboard', description: 'Tenkeyless mechanical keyboard with hot-swappable tactile switches.', priceCents: 11950, attributes: { brand: 'Nimbus', layout: 'tenkeyless', wireless: false } },
      { name: 'Granite 27-inch Monitor', description: '27-inch 1440p IPS monitor with a height-adjustable stand.', priceCents: 32900, attributes: { brand: 'Granite', inches: 27, resolution: '2560x1440' } },
      { name: 'Harbor Action Camera', description: 'Rugged 4K action camera with image stabilisation and a dive case.', priceCents: 22950, attributes: { brand: 'Harbor', resolution: '4K', waterproof: true } },
    ],
  },
  {
    category: 'home',
    variants: colours('Oat', 'Slate', 'Terracotta'),
    lines: [
      { name: 'Juniper Linen Duvet Cover', description: 'Stonewashed linen duvet cover that softens with every wash.', priceCents: 12900, attributes: { brand: 'Juniper', material: 'linen', size: 'double' } },
      { name: 'Foxglove Ceramic Table Lamp', description: 'Hand-glazed ceramic lamp with a fabric shade and warm LED bulb.', priceCents: 8900, attributes: { brand: 'Foxglove', material: 'ceramic', bulbIncluded: true } },
      { name: 'Driftwood Wool Throw', description: 'Chunky knit throw blanket in soft lambswool.', priceCents: 6950, attributes: { brand: 'Driftwood', material: 'lambswool', widthCm: 130 } },
      { name: 'Alder Scented Candle', description: 'Soy wax candle with notes of cedar and smoked vanilla, 45 hours burn time.', priceCents: 2450, attributes: { brand: 'Alder', burnHours: 45, scent: 'cedar' } },
      { name: 'Orchard Cotton Cushion', description: 'Square cushion with a removable organic cotton cover.', priceCents: 2995, attributes: { brand: 'Orchard', material: 'organic cotton', widthCm: 45 } },
      { name: 'Meridian Jute Rug', description: 'Hand-woven jute rug that brings texture to living rooms and hallways.', priceCents: 15900, attributes: { brand: 'Meridian', material: 'jute', lengthCm: 200 } },
    ],
  },
  {
    category: 'kitchen',
    variants: colours('Steel', 'Matte Black', 'Sage'),
    lines: [
      { name: 'Ironbark Cast Iron Skillet', description: 'Pre-seasoned 26 cm cast iron skillet for searing, baking and campfires.', priceCents: 4995, attributes: { brand: 'Ironbark', diameterCm: 26, dishwasherSafe: false } },
      { name: 'Copperline Electric Kettle', description: '1.7-litre kettle with temperature presets for green tea and coffee.', priceCents: 5990, attributes: { brand: 'Copperline', litres: 1.7, watts: 2200 } },
      { name: 'Kestrel Chef Knife', description: '20 cm chef knife forged from high-carbon German steel.', priceCents: 8900, attributes: { brand: 'Kestrel', bladeCm: 20, dishwasherSafe: false } },
      { name: 'Evergreen Bamboo Cutting Board', description: 'Reversible bamboo board with a juice groove.', priceCents: 2250, attributes: { brand: 'Evergreen', material: 'bamboo', dishwasherSafe: false } },
      { name: 'Harbor Pour-Over Coffee Set', description: 'Glass pour-over dripper and carafe with a reusable steel filter.', priceCents: 3950, attributes: { brand: 'Harbor', cups: 4, dishwasherSafe: true } },
      { name: 'Nimbus High-Speed Blender', description: 'Powerful blender for smoothies, soups and nut butters.', priceCents: 14900, attributes: { brand: 'Nimbus', watts: 1400, dishwasherSafe: true } },
    ],
  },
  {
    category: 'books',
    variants: [
      { label: 'Paperback', priceDeltaCents: 0, attributes: { format: 'paperback' } },
      { label: 'Hardcover', priceDeltaCents: 1000, attributes: { format: 'hardcover' } },
      { label: 'Large Print', priceDeltaCents: 500, attributes: { format: 'large print' } },
    ],
    lines: [
      { name: 'The Long Trail: A Hiking Memoir', description: 'A thru-hiker’s account of five months on the Pacific Crest Trail.', priceCents: 1699, attributes: { author: 'Mara Ellison', pages: 352, language: 'English' } },
      { name: 'Cooking Over Fire', description: 'Recipes and techniques for cast iron, embers and open flames.', priceCents: 2899, attributes: { author: 'Tomás Ribeiro', pages: 288, language: 'English' } },
      { name: 'Crème Brûlée and Other French Classics', description: 'Patisserie basics explained step by step, from custards to croissants.', priceCents: 2450, attributes: { author: 'Élodie Marchand', pages: 240, language: 'English' } },
      { name: 'Field Guide to Mountain Birds', description: 'Illustrated guide to 300 species of alpine and upland birds.', priceCents: 1995, attributes: { author: 'Jonas Berg', pages: 416, language: 'English' } },
      { name: 'Practical Electronics for Makers', description: 'Build circuits, solder boards and program microcontrollers from scratch.', priceCents: 3450, attributes: { author: 'Priya Natarajan', pages: 512, language: 'English' } },
      { name: 'Quiet Rooms: Designing Calm Homes', description: 'Interior ideas for light, texture and uncluttered living.', priceCents: 3900, attributes: { author: 'Hanna Lindqvist', pages: 224, language: 'English' } },
    ],
  },
];

/** Creation times one minute apart, the first product newest, so "newest" lists the catalog in this order. */
const SEED_CLOCK_START = Date.UTC(2026, 10, 1, 9, 0, 0);

export interface DemoProduct {
  name: string;
  description: string;
  priceCents: number;
  imageUrl: string | null;
  category: string;
  stock: number;
  attributes: Attributes;
  createdAt: Date;
}

export function demoCatalog(): DemoProduct[] {
  const products: DemoProduct[] = [];
  for (const { category, lines, variants } of CATALOG) {
    for (const line of lines) {
      for (const variant of variants) {
        const n = products.length;
        const slug = `${line.name} ${variant.label}`
          .normalize('NFKD')
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '');
        products.push({
          name: `${line.name} – ${variant.label}`,
          description: line.description,
          priceCents: line.priceCents + variant.priceDeltaCents,
          // Every seventh product has no picture and every ninth is sold out, to exercise both states.
          imageUrl: n % 7 === 3 ? null : `https://images.example.com/products/${slug}.jpg`,
          category,
          stock: n % 9 === 4 ? 0 : 5 + ((n * 37) % 120),
          attributes: { ...line.attributes, ...variant.attributes },
          createdAt: new Date(SEED_CLOCK_START - n * 60_000),
        });
      }
    }
  }
  return products;
}

/**
 * Inserts the demo catalog when the catalog is empty (no products at all, not
 * even deleted ones); returns how many products were added. The catalog state
 * row is locked first, so concurrent starts cannot both seed.
 */
export async function seedDemoCatalog(em: Em): Promise<number> {
  return em.transactional(async (tem) => {
    await tem.execute('select 1 from catalog_state for update');
    if ((await tem.count(Product, {})) > 0) return 0;
    const products = demoCatalog();
    for (const fields of products) tem.create(Product, { ...fields, updatedAt: fields.createdAt });
    return products.length;
  });
}
