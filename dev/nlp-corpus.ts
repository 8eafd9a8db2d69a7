/**
 * The npm package `nlp-corpus` (a dev dependency; 100 files of shuffled English sentences from mixed sources: film
 * reviews, UN documents, news, Wikipedia, fiction, lyrics, SMS, transcripts, …) as documents, one per sentence, and
 * a writer of either real corpus as JSONL for `infoprune experiment` (docs/experiments.md):
 *
 *   node dist/dev/nlp-corpus.js brown brown.jsonl
 *   node dist/dev/nlp-corpus.js nlp-corpus nlp-corpus.jsonl
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brownDocuments, type SampleDocument } from './brown.js';

const FILES = 100;

/**
 * The sentences, file by file; ids are `doc-<file>-<sentence>`. A sentence that occurs more than once (40 repeats in
 * 100,000) is kept once, so that a held-out sentence is never also a training one.
 */
export function nlpCorpusDocuments(): SampleDocument[] {
  let folder: string;
  try {
    // Its exports map holds only its entry, src/server/index.js: the package folder is two levels up.
    folder = join(dirname(createRequire(import.meta.url).resolve('nlp-corpus')), '..', '..');
  } catch {
    throw new Error('The nlp-corpus sample needs the dev dependency nlp-corpus: run npm install in the repository');
  }
  const seen = new Set<string>();
  const documents: SampleDocument[] = [];
  for (let file = 0; file < FILES; file++) {
    const sentences = JSON.parse(readFileSync(join(folder, 'builds', `doc-${file}.json`), 'utf8')) as string[];
    sentences.forEach((sentence, i) => {
      const text = sentence.trim();
      if (text.length === 0 || seen.has(text)) return;
      seen.add(text);
      documents.push({ id: `doc-${file}-${i}`, text });
    });
  }
  return documents;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [name, out] = process.argv.slice(2);
  if ((name !== 'brown' && name !== 'nlp-corpus') || out === undefined) {
    process.stderr.write('usage: node dist/dev/nlp-corpus.js brown|nlp-corpus OUT.jsonl\n');
    process.exit(2);
  }
  const documents = name === 'brown' ? brownDocuments() : nlpCorpusDocuments();
  writeFileSync(out, documents.map((document) => `${JSON.stringify(document)}\n`).join(''));
  process.stderr.write(`${documents.length} documents → ${out}\n`);
}
