/**
 * What a "word" is for the paper's second information term H(W,f) = -(1/n) Σ log f(w_i).
 * One definition, used by the scoring run (to count corpus frequencies) and by `prune` (to compute H(W,f)):
 * maximal runs of Unicode letters, marks and digits (with inner apostrophes), lower-cased with NFKC folding; a run
 * holding a script written without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) is split further by
 * ICU's dictionary-based word breaker (`Intl.Segmenter`), so that a Chinese sentence is many words, not one.
 */
const WORD_PATTERN = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;

/** Scripts written without spaces between words. */
const UNSPACED_SCRIPT =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/**
 * The word definition's version, written into every word-frequency table: a table counted under another definition
 * gives other frequencies (version 1 kept runs of unspaced scripts whole).
 */
export const WORD_DEFINITION_VERSION = 2;

/**
 * The ICU version the word breaker comes from: dictionary-based splitting can change between ICU releases (Node
 * versions), so tables record it.
 */
export const WORD_BREAKER_ICU: string | null = process.versions.icu ?? null;

let segmenter: Intl.Segmenter | null | undefined;

function wordBreaker(): Intl.Segmenter | null {
  if (segmenter === undefined) {
    segmenter = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter('und', { granularity: 'word' }) : null;
  }
  return segmenter;
}

/** A run of letters holding an unspaced script, as ICU splits it (or one character a word, without ICU). */
function splitUnspaced(run: string, words: string[]): void {
  const breaker = wordBreaker();
  if (breaker === null) {
    words.push(...run.match(/.\p{M}*/gsu)!.filter((piece) => /[\p{L}\p{N}]/u.test(piece)));
    return;
  }
  for (const piece of breaker.segment(run)) if (piece.isWordLike) words.push(piece.segment);
}

/** The words of a text, in order, normalised (NFKC, lower case). */
export function splitWords(text: string): string[] {
  const normalised = text.normalize('NFKC').toLowerCase();
  const runs = normalised.match(WORD_PATTERN);
  if (runs === null) return [];
  if (!UNSPACED_SCRIPT.test(normalised)) return runs;
  const words: string[] = [];
  for (const run of runs) {
    if (UNSPACED_SCRIPT.test(run)) splitUnspaced(run, words);
    else words.push(run);
  }
  return words;
}

/** Number of words in a text, as `splitWords` counts them. */
export function countWords(text: string): number {
  return splitWords(text).length;
}
