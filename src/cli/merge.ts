/** `infoprune merge`: the command-line face of `mergeShards` (src/pipeline/merge.ts). */
import type { Command } from 'commander';
import { mergeShards } from '../pipeline/merge.js';
import { MERGE_FLAGS, withFlagWording } from './flags.js';
import { formatCounts } from './progress.js';

const HELP = `
Each shard is the --out of one \`infoprune score ... --shard i/N\` run; its manifest, errors and word table are read
from beside it. The shards must be all N of one split (same model, options and inputs), each exactly once: a missing
shard, a shard given twice, or shards of different runs are refused with a message saying which. The merged output
is what the unsharded run would have written: records and errors in input order, word tables summed, one manifest.

Given one folder, merge finds the shards in it by their completion markers (<shard>.done.json, written when a shard
finishes), refuses a folder holding shards of different runs, and names any missing shard (and its checkpoint, when it
is still running or was interrupted).

Examples:
  infoprune merge scores.shard-*.jsonl --out scores.jsonl
  infoprune merge /results/scores/ --out /results/scores.jsonl
`;

export function registerMergeCommand(program: Command): void {
  program
    .command('merge')
    .summary('combine the outputs of `score --shard i/N` runs into one')
    .description(
      'Combine shard outputs into the output of the unsharded run, checking that every shard is there exactly once.',
    )
    .argument('<shards...>', "the shards' score files, or the folder holding them")
    .requiredOption('-o, --out <file>', 'the merged score file (.jsonl, or .parquet for Parquet)')
    .option('-q, --quiet', 'no summary line')
    .addHelpText('after', HELP)
    .action(withFlagWording(MERGE_FLAGS, runMerge));
}

async function runMerge(shards: string[], flags: { out: string; quiet?: boolean }): Promise<void> {
  const summary = await mergeShards({ shards, out: flags.out });
  if (!flags.quiet) {
    process.stderr.write(
      `infoprune merge: ${summary.shards} shards, ${formatCounts(summary.counts)} → ${summary.outputs.scores}\n`,
    );
  }
}
