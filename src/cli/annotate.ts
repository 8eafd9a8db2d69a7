/** `infoprune annotate`: the command-line face of `annotateCorpus` (src/pipeline/annotate.ts), for a finished run. */
import type { Command } from 'commander';
import { ANNOTATE_DEFAULTS, annotateCorpus } from '../pipeline/annotate.js';
import { formatCount } from '../util/format.js';
import { ANNOTATE_FLAGS, withFlagWording } from './flags.js';
import { STDOUT_ARGUMENT, temporaryStdout } from './pipes.js';

const HELP = `
The inputs of the run (named in <scores>.manifest.json, read as it read them) are written back out with each
record's scores under one key: {"tokens","nll","bits_per_token","bits_per_byte","word_entropy","model"} (word_entropy:
H(W,f) in bits, from the run's word table; model: its sha256). JSONL keeps every other byte of each record; Parquet
gains one JSON column. Records that were not scored are written unchanged, without the key; lines that are not
records (malformed JSON, empty text) are left out (the run's errors file lists them). A shard's scores cover part of
the inputs: annotate the merged scores. score --annotate does the same at the end of a run.

--out: a folder (ending in /): one file per input, under the input's name (.gz and .zst kept); a file: every record
(JSONL inputs, compression from its name, or one Parquet input); -: JSONL on standard output.

Examples:
  infoprune annotate scores.jsonl --out annotated/
  infoprune annotate scores.jsonl --out - | jq -c 'select(.infoprune.bits_per_token > 3)'
`;

export function registerAnnotateCommand(program: Command): void {
  program
    .command('annotate')
    .summary("write a scored corpus back out with each record's scores added")
    .description('Add the scores of a finished run to its input records, in their own format.')
    .argument('<scores>', 'the score file of a finished run (or of a merge)')
    .requiredOption('-o, --out <dest>', 'a folder (ending in /), one file, or - for standard output')
    .option('--key <name>', 'the key (JSONL) or column (Parquet) the scores go under', ANNOTATE_DEFAULTS.key)
    .option('-q, --quiet', 'no summary line')
    .addHelpText('after', HELP)
    .action(withFlagWording(ANNOTATE_FLAGS, runAnnotate));
}

async function runAnnotate(scores: string, flags: { out: string; key: string; quiet?: boolean }): Promise<void> {
  await annotateTo(scores, flags.out, flags.key, flags.quiet === true, 'infoprune annotate');
}

/** Annotates into `dest` (or onto standard output for `-`), with one summary line on stderr. */
export async function annotateTo(
  scores: string,
  dest: string,
  key: string | undefined,
  quiet: boolean,
  who: string,
): Promise<void> {
  const toStdout = dest === STDOUT_ARGUMENT ? temporaryStdout('annotated.jsonl') : undefined;
  try {
    const summary = await annotateCorpus({ scores, out: toStdout?.out ?? dest, key });
    if (!quiet) {
      const unscored = summary.records - summary.annotated;
      const without = unscored > 0 ? ` (${formatCount(unscored)} not scored, written without the key)` : '';
      process.stderr.write(
        `${who}: annotated ${formatCount(summary.annotated)} records${without} → ${toStdout ? 'standard output' : dest}\n`,
      );
    }
    await toStdout?.copyOut();
  } finally {
    toStdout?.remove();
  }
}
