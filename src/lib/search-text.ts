/**
 * Search normalisation shared by indexing (Product.searchName/searchBody) and
 * querying. The contract defines a word as a run of letters and digits, matched
 * case- and accent-insensitively, so both sides are reduced to lower-case,
 * accent-free words separated by single spaces before PostgreSQL sees them.
 */
const NON_WORD = /[^\p{L}\p{N}]+/gu;
const COMBINING_MARKS = /\p{M}+/gu;

export function searchWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(COMBINING_MARKS, '')
    .toLowerCase()
    .split(NON_WORD)
    .filter((word) => word.length > 0);
}

export function searchText(text: string): string {
  return searchWords(text).join(' ');
}
