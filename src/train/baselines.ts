/**
 * What a probe is measured against on the held-out documents (the training record and `npm run bench` show both):
 * - per-document compressors, in bits per byte: zlib at level 9 (Node's zlib; the `zlib-ratio` metric's compressor)
 *   and xz (LZMA2, preset 9e, raw stream, through the `xz` program when it is installed);
 * - count models of the probe's own tokens, in bits per token: an interpolated Kneser-Ney bigram and a unigram
 *   estimated on the training stream, scoring each held-out document as the scorer does ([BOS] + tokens, every
 *   text token predicted from the one before).
 */
import { spawnSync } from 'node:child_process';
import { deflateSync } from 'node:zlib';

export interface CompressorBaselines {
  zlib9BitsPerByte: number;
  /** null when the `xz` program is not installed. */
  xzBitsPerByte: number | null;
}

export interface CountModelBaselines {
  bigramBitsPerToken: number;
  unigramBitsPerToken: number;
}

export function compressorBaselines(documents: readonly string[]): CompressorBaselines {
  let bytes = 0;
  let zlibBytes = 0;
  let xzBytes: number | null = 0;
  for (const text of documents) {
    const data = Buffer.from(text, 'utf8');
    bytes += data.length;
    zlibBytes += deflateSync(data, { level: 9 }).length;
    if (xzBytes !== null) {
      const size = xzCompressedBytes(data);
      xzBytes = size === null ? null : xzBytes + size;
    }
  }
  return { zlib9BitsPerByte: (8 * zlibBytes) / bytes, xzBitsPerByte: xzBytes === null ? null : (8 * xzBytes) / bytes };
}

function xzCompressedBytes(data: Buffer): number | null {
  const result = spawnSync('xz', ['--format=raw', '--lzma2=preset=9e', '--stdout', '--quiet'], {
    input: data,
    maxBuffer: data.length * 2 + 4096,
  });
  if (result.error || result.status !== 0) return null;
  return result.stdout.length;
}

/** The same as native/kneser_ney.hpp's: the probe's bigram start fits the bigram scored here. */
const DISCOUNT = 0.75;

/**
 * Bigram (interpolated Kneser-Ney, discount 0.75) and unigram (add-½) models estimated on `training`, scored on
 * `documents`: each a document's tokens without BOS. The bigram's formula is native/kneser_ney.hpp's (no route to
 * compare the two: the addon exposes only the probe start built on it).
 */
export function countModelBaselines(
  training: Int32Array,
  documents: readonly Int32Array[],
  bosToken: number,
  vocabularySize: number,
): CountModelBaselines {
  const pairCounts = new Map<number, number>();
  const unigram = new Float64Array(vocabularySize);
  const following = new Float64Array(vocabularySize); // c(v ·)
  const distinctAfter = new Float64Array(vocabularySize); // N1+(v ·)
  const distinctBefore = new Float64Array(vocabularySize); // N1+(· w)
  let distinctPairs = 0;
  for (let i = 0; i < training.length; i++) unigram[training[i]]++;
  for (let i = 0; i + 1 < training.length; i++) {
    const key = training[i] * vocabularySize + training[i + 1];
    const count = pairCounts.get(key) ?? 0;
    if (count === 0) {
      distinctAfter[training[i]]++;
      distinctBefore[training[i + 1]]++;
      distinctPairs++;
    }
    pairCounts.set(key, count + 1);
    following[training[i]]++;
  }
  const total = training.length;
  let bigramBits = 0;
  let unigramBits = 0;
  let scored = 0;
  for (const document of documents) {
    let previous = bosToken;
    for (const token of document) {
      const continuation = (distinctBefore[token] + 0.5) / (distinctPairs + 0.5 * vocabularySize);
      const c = following[previous];
      const p =
        c > 0
          ? Math.max((pairCounts.get(previous * vocabularySize + token) ?? 0) - DISCOUNT, 0) / c +
            ((DISCOUNT * distinctAfter[previous]) / c) * continuation
          : continuation;
      bigramBits -= Math.log2(p);
      unigramBits -= Math.log2((unigram[token] + 0.5) / (total + 0.5 * vocabularySize));
      scored++;
      previous = token;
    }
  }
  return { bigramBitsPerToken: bigramBits / scored, unigramBitsPerToken: unigramBits / scored };
}
