/**
 * What `score` skipped, as prune sees it: the positions its errors file (beside the scores) names, each with the
 * reason. Those corpus records have no score record; the join leaves them out (reported), and so does every later
 * pass over the corpus.
 */
import { existsSync } from 'node:fs';
import type { CorpusRecord } from '../corpus/read.js';
import { scoreFilePaths } from '../scores/files.js';
import { readLines } from '../scores/read.js';

export function positionOf(record: { source: string; line: number }): string {
  return `${record.source}\0${record.line}`;
}

/** The corpus records less those the join left out as not scored (`unscored`: their positions). */
export async function* scoredRecords(
  records: AsyncIterable<CorpusRecord>,
  unscored: ReadonlySet<string>,
): AsyncGenerator<CorpusRecord> {
  for await (const record of records) {
    if (unscored.size === 0 || !unscored.has(positionOf(record))) yield record;
  }
}

/** The positions `score` skipped (`<source>\0<line>` → reason), from the errors file beside the scores. */
export async function loadScoreSkips(scoresPath: string): Promise<Map<string, string>> {
  const skips = new Map<string, string>();
  const path = scoreFilePaths(scoresPath).errors;
  if (!existsSync(path)) return skips;
  for await (const line of readLines(path)) {
    const entry = JSON.parse(line) as { source: string; line: number; reason: string };
    skips.set(positionOf(entry), entry.reason);
  }
  return skips;
}
