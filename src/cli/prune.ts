/** `infoprune prune`: the command-line face of `pruneCorpus` (src/select/prune.ts). */
import type { Command } from 'commander';
import { METRIC_NAMES, METRICS } from '../select/metrics.js';
import { type PruneOptions, type PruneResult, pruneCorpus } from '../select/prune.js';
import { SELECTION_DEFAULTS, STRATEGY_DESCRIPTIONS, STRATEGY_NAMES } from '../select/strategies.js';
import { optionsFromFlags, PRUNE_FLAGS, withFlagWording } from './flags.js';
import { prepareStdin } from './pipes.js';
import { abortOnSignals } from './signals.js';

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
takes documents in order until N tokens are kept, the crossing document included; --band LOW:HIGH keeps rank positions
⌊n·LOW/100 + ½⌋ to ⌊n·HIGH/100 + ½⌋ (percentiles, 0 = least informative). Ties: source, then line.

Groups: documents are grouped by source file, or by the value of --group-field (a JSONL field or Parquet column, e.g.
a domain or subset). The kept count and token share of every group are printed, written to selection.json and drawn
in report.html; --per-group applies a ratio or band budget within each group (each keeps its own share) instead of
one cut over the corpus, which shifts the mix towards the groups the metric favours.

Outputs in --out (written to <out>.tmp-<pid>, renamed when complete; an existing --out is refused):
  kept/...        the kept records, byte-identical, in input order, one file per input file
  pruned.jsonl    {"id","source","line","value"} per pruned document
  selection.json  configuration, counts, tokens and bytes before and after, cut values
  report.html     model and metric, kept shares, histogram with cut lines, tokens kept against the cut value with
                  its quantile table, documents either side of the cut, kept shares per group and per length,
                  the ten least and most informative documents (self-contained HTML and SVG)

Example:
  infoprune prune --scores scores.jsonl --input data/ --out pruned/ --prune-ratio 0.3
`;
}

export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description('Rank documents by information content and keep the most informative (or another selection)')
    .requiredOption(
      '--input <paths...>',
      'corpus files, folders or globs (the inputs given to infoprune score; - for standard input)',
    )
    .requiredOption('--out <dir>', 'output folder (must not exist)')
    .option('--scores <file>', 'score file from infoprune score (JSONL or Parquet)')
    .option('--prune-ratio <r>', 'fraction of documents to prune, in (0, 1)')
    .option('--keep-ratio <r>', 'fraction of documents to keep, in (0, 1)')
    .option('--keep-tokens <n>', 'tokens to keep (needs --scores)')
    .option('--metric <name>', `information measure: ${METRIC_NAMES.join(', ')}`, SELECTION_DEFAULTS.metric)
    .option(
      '--strategy <name>',
      `selection strategy: ${STRATEGY_NAMES.join(', ')} (default ${SELECTION_DEFAULTS.strategy}, band with --band)`,
    )
    .option('--seed <n>', 'seed of the random strategy (unsigned 32-bit integer)')
    .option('--min <x>', 'threshold: keep documents with value ≥ x')
    .option('--max <x>', 'threshold: keep documents with value ≤ x')
    .option('--band <low:high>', 'keep the percentile band LOW:HIGH of the ranking (0 = least informative), e.g. 20:90')
    .option('--group-field <name>', 'group documents by this field or column (default: by source file)')
    .option('--per-group', 'apply the ratio or band within each group instead of over the whole corpus')
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
  await prepareStdin(flags.input as string[]);
  const options = optionsFromFlags(PRUNE_FLAGS, flags) as unknown as PruneOptions;
  const log = flags.quiet ? undefined : (message: string) => process.stderr.write(`infoprune prune: ${message}\n`);
  // Ctrl-C aborts the run; pruneCorpus then removes its temporary folder, so no partial output is left behind.
  const abort = abortOnSignals();
  let result: PruneResult;
  try {
    result = await pruneCorpus({ ...options, dryRun: options.dryRun ?? false, log, signal: abort.signal });
  } finally {
    abort.dispose();
  }
  const { out, summary } = result;
  const share = (part: number, whole: number): string => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);
  const lines = [
    `kept ${summary.counts.kept} of ${summary.counts.documents} documents (${share(summary.counts.kept, summary.counts.documents)})`,
    summary.tokens === null
      ? null
      : `kept ${summary.tokens.after} of ${summary.tokens.before} tokens (${share(summary.tokens.after, summary.tokens.before)})`,
    ...groupLines(summary),
    `${summary.configuration.dryRun ? 'report' : 'output'}: ${out}`,
  ].filter((line): line is string => line !== null);
  // On stderr, like every summary and progress line: stdout is for data (`-`).
  process.stderr.write(lines.map((line) => `infoprune prune: ${line}\n`).join(''));
}

/** Groups listed on stderr (selection.json and report.html list them all). */
const GROUP_LINES = 20;

/** Per group: kept documents and tokens, and the group's share of the corpus before and after. */
function groupLines(summary: PruneResult['summary']): string[] {
  const groups = [...summary.groups].sort((a, b) => b.documents - a.documents);
  if (groups.length < 2) return [];
  const tokens = summary.tokens !== null;
  const size = (g: (typeof groups)[number]) => (tokens ? g.tokens! : g.documents);
  const keptSize = (g: (typeof groups)[number]) => (tokens ? g.keptTokens! : g.kept);
  const total = groups.reduce((sum, g) => sum + size(g), 0);
  const keptTotal = groups.reduce((sum, g) => sum + keptSize(g), 0);
  const pct = (part: number, whole: number) => (whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`);
  const by = summary.configuration.groupField ?? 'source';
  const width = Math.min(40, Math.max(...groups.slice(0, GROUP_LINES).map((g) => g.group.length)));
  const lines = groups.slice(0, GROUP_LINES).map((g) => {
    const name = g.group.length > width ? `…${g.group.slice(-(width - 1))}` : g.group.padEnd(width);
    return `  ${name}  kept ${g.kept}/${g.documents} documents (${pct(g.kept, g.documents)}), ${tokens ? 'tokens' : 'documents'} ${pct(keptSize(g), size(g))}; share ${pct(size(g), total)} → ${pct(keptSize(g), keptTotal)}`;
  });
  if (groups.length > GROUP_LINES) lines.push(`  … ${groups.length - GROUP_LINES} more groups in selection.json`);
  return [`per ${by}${summary.configuration.perGroup ? ' (budget applied within each)' : ''}:`, ...lines];
}
