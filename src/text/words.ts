/**
 * What a "word" is for the paper's second information term H(W,f) = -(1/n) Σ log f(w_i).
 * One definition, used by the scoring run (to count corpus frequencies) and by `prune` (to compute H(W,f)):
 * maximal runs of Unicode letters, marks and digits (with inner apostrophes), lower-cased with NFKC folding.
 */
const WORD_PATTERN = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;

/** The words of a text, in order, normalised (NFKC, lower case). */
export function splitWords(text: string): string[] {
  const matches = text.normalize('NFKC').toLowerCase().match(WORD_PATTERN);
  return matches ?? [];
}

/** Number of words in a text, as `splitWords` counts them. */
export function countWords(text: string): number {
  return splitWords(text).length;
}
