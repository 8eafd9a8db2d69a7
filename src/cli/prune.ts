/** `infoprune prune`: the command-line face of `pruneCorpus` (src/select/prune.ts). */
import type { Command } from 'commander';
import { METRIC_NAMES, METRICS } from '../select/metrics.js';
import { type PruneOptions, type PruneResult, pruneCorpus } from '../select/prune.js';
import { SELECTION_DEFAULTS, STRATEGY_DESCRIPTIONS, STRATEGY_NAMES } from '../select/strategies.js';
import { optionsFromFlags, PRUNE_FLAGS, withFlagWording } from './flags.js';

function helpText(): string {
  const metrics = METRIC_NAMES.map((name) => {
    const m = METRICS[name];
    return `  ${name.padEnd(15)} ${m.formula}\n  ${''.padEnd(15)} unit: ${m.unit}; ${m.moreInformative} is more informative${m.needsScores ? '' : '; needs no scores'}`;
  }).join('\n');
  const strategies = STRATEGY_NAMES.map((name) => `  ${name.padEnd(15)} ${STRATEGY_DESCRIPTIONS[name]}`).join('\n');
  return `
Metrics:
${metrics}

Strategies:
${strategies}

Budgets: kept = ⌊n·keepRatio + ½⌋ documents (round half up); --prune-ratio r is --keep-ratio 1 − r; --keep-tokens N
takes documents in order until N tokens are kept, the crossing document included. Ties: source, then line.

Outputs in --out (written to <out>.tmp-<pid>, renamed when complete; an existing --out is refused):
  kept/...        the kept records, byte-identical, in input order, one file per input file
  pruned.jsonl    {"id","source","line","value"} per pruned document
  selection.json  configuration, counts, tokens and bytes before and after, cut values
  report.html     histogram with cut lines, kept shares, the ten least and most informative documents

Example:
  infoprune prune --scores scores.jsonl --input data/ --out pruned/ --prune-ratio 0.3
`;
}

export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description('Rank documents by information content and keep the most informative (or another selection)')
    .requiredOption('--input <paths...>', 'corpus files, folders or globs (the inputs given to infoprune score)')
    .requiredOption('--out <dir>', 'output folder (must not exist)')
    .option('--scores <file>', 'score file from infoprune score (JSONL or Parquet)')
    .option('--prune-ratio <r>', 'fraction of documents to prune, in (0, 1)')
    .option('--keep-ratio <r>', 'fraction of documents to keep, in (0, 1)')
    .option('--keep-tokens <n>', 'tokens to keep (needs --scores)')
    .option('--metric <name>', `information measure: ${METRIC_NAMES.join(', ')}`, SELECTION_DEFAULTS.metric)
    .option('--strategy <name>', `selection strategy: ${STRATEGY_NAMES.join(', ')}`, SELECTION_DEFAULTS.strategy)
    .option('--seed <n>', 'seed of the random strategy (unsigned 32-bit integer)')
    .option('--min <x>', 'threshold: keep documents with value ≥ x')
    .option('--max <x>', 'threshold: keep documents with value ≤ x')
    .option('--words <file>', 'word-frequency table (default <scores>.words.bin)')
    .option('--text-field <name>', 'field holding the text (JSONL, Parquet); default text')
    .option('--id-field <name>', 'field holding the id; default id when present, else <source>:<line>')
    .option('--text-mode <mode>', 'plain-text files: one document per file or per line (file, line)')
    .option('--format <format>', 'force the input format: jsonl, parquet, text (default: from file names)')
    .option('--dry-run', 'write only selection.json and report.html')
    .option('--quiet', 'no progress lines on stderr')
    .addHelpText('after', helpText())
    .action(withFlagWording(PRUNE_FLAGS, runPrune));
}

async function runPrune(flags: Record<string, unknown>): Promise<void> {
  const options = optionsFromFlags(PRUNE_FLAGS, flags) as unknown as PruneOptions;
  const log = flags.quiet ? undefined : (message: string) => process.stderr.write(`infoprune prune: ${message}\n`);
  // Ctrl-C aborts the run; pruneCorpus then removes its temporary folder, so no partial output is left behind.
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  let result: PruneResult;
  try {
    result = await pruneCorpus({ ...options, dryRun: options.dryRun ?? false, log, signal: controller.signal });
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
  const { out, summary } = result;
  const share = (part: number, whole: number): string => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);
  const lines = [
    `kept ${summary.counts.kept} of ${summary.counts.documents} documents (${share(summary.counts.kept, summary.counts.documents)})`,
    summary.tokens === null
      ? null
      : `kept ${summary.tokens.after} of ${summary.tokens.before} tokens (${share(summary.tokens.after, summary.tokens.before)})`,
    `${summary.configuration.dryRun ? 'report' : 'output'}: ${out}`,
  ].filter((line): line is string => line !== null);
  // On stderr, like every summary and progress line: stdout is for data (`-`).
  process.stderr.write(lines.map((line) => `infoprune prune: ${line}\n`).join(''));
}
