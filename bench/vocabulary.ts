/**
 * Word lists the catalog generator draws from. The frequencies are chosen so the
 * search scenarios have a known shape: "black" (3 of 14 colours) matches about a
 * fifth of the catalog, a model name (3 of 24 syllables each, 13,824 names)
 * matches a handful of products, and "runn" prefixes the nouns of two of twenty
 * categories.
 */

export const CATEGORIES: { name: string; nouns: [string, string, string, string, string] }[] = [
  { name: 'footwear', nouns: ['running shoe', 'hiking boot', 'sandal', 'sneaker', 'slipper'] },
  { name: 'outdoor', nouns: ['tent', 'backpack', 'sleeping bag', 'headlamp', 'trekking pole'] },
  { name: 'electronics', nouns: ['headphones', 'speaker', 'charger', 'keyboard', 'monitor'] },
  { name: 'kitchen', nouns: ['kettle', 'skillet', 'chef knife', 'blender', 'cutting board'] },
  { name: 'home', nouns: ['table lamp', 'blanket', 'cushion', 'rug', 'curtain'] },
  { name: 'garden', nouns: ['garden hose', 'planter', 'shovel', 'pruner', 'sprinkler'] },
  { name: 'toys', nouns: ['puzzle', 'toy robot', 'kite', 'building set', 'plush bear'] },
  { name: 'books', nouns: ['notebook', 'cookbook', 'novel', 'atlas', 'journal'] },
  { name: 'beauty', nouns: ['face serum', 'body lotion', 'shampoo', 'hair brush', 'mirror'] },
  { name: 'sports', nouns: ['football', 'tennis racket', 'yoga mat', 'dumbbell', 'running shorts'] },
  { name: 'fashion', nouns: ['rain jacket', 'scarf', 'hoodie', 'shirt', 'belt'] },
  { name: 'office', nouns: ['desk chair', 'desk organizer', 'stapler', 'pen set', 'whiteboard'] },
  { name: 'automotive', nouns: ['car cover', 'tire gauge', 'seat cushion', 'dash cam', 'jump starter'] },
  { name: 'music', nouns: ['guitar', 'ukulele', 'drum pad', 'microphone', 'amplifier'] },
  { name: 'pets', nouns: ['dog bed', 'cat tree', 'leash', 'pet feeder', 'chew toy'] },
  { name: 'tools', nouns: ['cordless drill', 'hammer', 'wrench set', 'screwdriver', 'tape measure'] },
  { name: 'jewelry', nouns: ['necklace', 'ring', 'bracelet', 'earrings', 'watch'] },
  { name: 'health', nouns: ['thermometer', 'massager', 'pill organizer', 'bathroom scale', 'first aid kit'] },
  { name: 'baby', nouns: ['stroller', 'bib', 'crib sheet', 'rattle', 'baby monitor'] },
  { name: 'gaming', nouns: ['controller', 'gaming headset', 'gaming mouse', 'gaming chair', 'mouse pad'] },
];

export const BRANDS = [
  'Kestrel', 'Northwind', 'Alder & Co', 'Bluepeak', 'Copperline', 'Driftwood', 'Evergreen', 'Foxglove',
  'Granite', 'Harbor', 'Ironbark', 'Juniper', 'Lumen', 'Meridian', 'Nimbus', 'Orchard',
];

export const ADJECTIVES = [
  'Lightweight', 'Compact', 'Classic', 'Premium', 'Rugged', 'Ergonomic', 'Vintage', 'Modern',
  'Portable', 'Durable', 'Eco', 'Deluxe', 'Essential', 'Slim', 'Heavy-Duty', 'Waterproof',
  'Foldable', 'Wireless', 'Handmade', 'Organic', 'Soft', 'Smart', 'Professional', 'Everyday',
];

export const COLORS = [
  'black', 'black', 'black', 'white', 'navy', 'red', 'green', 'grey', 'blue', 'olive', 'sand', 'burgundy', 'orange', 'pink',
];

export const MATERIALS = [
  'cotton', 'leather', 'stainless steel', 'bamboo', 'recycled plastic', 'aluminium', 'wool', 'canvas', 'oak', 'silicone', 'ceramic', 'nylon',
];

export const FEATURES = [
  'a grippy sole', 'reinforced stitching', 'a two-year warranty', 'a water-repellent finish', 'a soft-touch grip',
  'quick-release buckles', 'a scratch-resistant coating', 'an adjustable strap', 'a magnetic closure', 'USB-C charging',
  'a non-slip base', 'breathable mesh panels', 'a removable liner', 'dishwasher-safe parts', 'a low-noise motor', 'a travel pouch',
];

export const USES = [
  'everyday use', 'weekend trips', 'small apartments', 'busy kitchens', 'long hikes', 'the home office',
  'gift giving', 'rainy days', 'beginners and pros alike', 'the whole family', 'camping', 'the daily commute',
];

export const BENEFITS = [
  'packs away in seconds', 'is built to last for years', 'comes ready to use out of the box', 'is easy to clean',
  'feels right from the first day', 'keeps its shape wash after wash', 'stays quiet at full power', 'fits in any bag',
  'is covered by our 30-day return promise', 'pairs well with the rest of the range',
];

/** Model names are three of these syllables: rare words that still look like product names. */
export const MODEL_SYLLABLES = [
  'al', 'bo', 'cor', 'da', 'el', 'fin', 'gar', 'hal', 'is', 'jor', 'ka', 'lun',
  'mer', 'nor', 'or', 'pel', 'quin', 'ros', 'sil', 'tor', 'ur', 'vel', 'wyn', 'zan',
];

/** The searches the scenarios send. The rare word is read from the generated data. */
export const COMMON_WORD = 'black';
export const SEARCH_PREFIX = 'runn';
