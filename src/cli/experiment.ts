/** `infoprune experiment`: the command-line face of `runExperiment` (src/experiment/experiment.ts). */
import type { Command } from 'commander';
import { READING_DEFAULTS } from '../corpus/options.js';
import { runExperiment } from '../experiment/experiment.js';
import {
  EXPERIMENT_DEFAULTS,
  EXPERIMENT_STRATEGIES,
  EXPERIMENT_STRATEGY_NAMES,
  type ExperimentOptions,
  type ExperimentProgress,
  PRUNE_UNITS,
  REGIMES,
} from '../experiment/options.js';
import { PROBE_SHAPE_NAMES } from '../train/options.js';
import { formatCount, formatDuration } from '../util/format.js';
import { EXPERIMENT_FLAGS, optionsFromFlags, withFlagWording } from './flags.js';
import { abortOnSignals } from './signals.js';
import { parseBudget } from './train.js';

const d = EXPERIMENT_DEFAULTS;
const q = EXPERIMENT_DEFAULTS.quick;

const HELP = `
Which pruning helps on this corpus, measured the paper's way: fresh target models trained on each strategy's subset
and on the full pool, at the same seeds, evaluated on held-out documents.

What happens: a seeded sample of the inputs (at most --pool-bytes of text) is split by document into a training pool
and a held-out slice (or --heldout); a probe is trained on the pool (or --model) and scores it; each strategy × prune
ratio cuts the pool with the same code as \`infoprune prune\` (by default a ratio counts the pool's target tokens,
so every strategy keeps the same amount of text; --prune-by documents counts documents, as prune does); one target (one shape, one vocabulary learned from the
pool) is trained per subset and seed in two regimes: equal compute (every target trains --budget tokens, smaller
subsets repeated) and equal epochs (--budget × the kept share: the compute saving). The full pool trains once per
seed and serves both. Each finished run is written to runs/ at once: run the same command again to continue a
stopped experiment. results.json holds every run; report.html plots them and compares each strategy with random at
the same seeds (95 % confidence intervals), saying plainly when no difference is detectable.

Strategies: ${EXPERIMENT_STRATEGY_NAMES.map((name) => `${name} (${EXPERIMENT_STRATEGIES[name].about})`).join('; ')}.
Defaults: ${d.strategies.join(',')}; prune ratios ${d.pruneRatios.join(',')}; ${d.seeds} seeds; targets ${d.shape}, ${formatCount(d.budgetTokens, { compact: true })} tokens.
--quick: ${q.strategies.join(',')}; ratio ${q.pruneRatios.join(',')}; ${q.seeds} seeds; a tiny shape and ${formatCount(q.budgetTokens, { compact: true })} tokens (a smoke run of a few minutes).
Same seed, one thread (--threads 1): the same numbers.

Examples:
  infoprune experiment corpus/ --out exp/ --quick
  infoprune experiment corpus/ --out exp/ --ratios 0.3 --seeds 5 --budget 500k
`;

export function registerExperimentCommand(program: Command): void {
  program
    .command('experiment')
    .summary('compare pruning strategies by training small models on the pruned data')
    .description('Train target models on each pruning strategy’s subset and compare them on held-out documents.')
    .argument('<inputs...>', 'files, folders and globs')
    .requiredOption('-o, --out <folder>', 'the experiment folder (results.json, report.html, runs/)')
    .option('--heldout <files...>', 'evaluate on these documents instead of a held-out slice of the inputs')
    .option('--model <probe.gguf>', 'score with this probe instead of training one on the pool')
    .option('--strategies <list>', `comma-separated: ${EXPERIMENT_STRATEGY_NAMES.join(', ')} (random is always run)`)
    .option('--ratios <list>', 'comma-separated prune ratios, each in (0, 1)')
    .option('--prune-by <unit>', `what a ratio counts: ${PRUNE_UNITS.join(' or ')} (default ${d.pruneBy})`)
    .option('--regimes <list>', `comma-separated: ${REGIMES.join(', ')}`)
    .option('--seeds <n>', 'seeds per strategy (1, 2, …, n)')
    .option('--shape <name>', `target shape: ${PROBE_SHAPE_NAMES.join(', ')}`)
    .option('--budget <tokens>', 'tokens each equal-compute target trains (250k, 1M)')
    .option('--pool-bytes <n>', 'text in the training pool, at most')
    .option('--heldout-bytes <n>', 'held-out text, at most')
    .option('--probe-shape <name>', `the probe's shape when it is trained here: ${PROBE_SHAPE_NAMES.join(', ')}`)
    .option('--probe-budget <tokens>', 'tokens the probe trains on')
    .option('--quick', 'a smoke run of a few minutes')
    .option('--keep-models', "keep each target's GGUF under models/")
    .option('--overwrite', 'start over in a folder that holds another experiment')
    .option('--threads <n>', "CPU threads (default: the machine's cores)")
    .option('--text-field <name>', 'field holding the text (JSONL, Parquet)', READING_DEFAULTS.textField)
    .option('--text-mode <file|line>', 'plain text: one document per file, or one per line', READING_DEFAULTS.textMode)
    .option('--format <auto|jsonl|parquet|text>', 'input format (auto: from file names)', READING_DEFAULTS.format)
    .option('-q, --quiet', 'no progress and no summary')
    .addHelpText('after', HELP)
    .action(withFlagWording(EXPERIMENT_FLAGS, runCommand));
}

function list(value: unknown): string[] | undefined {
  return typeof value === 'string' ? value.split(',').map((item) => item.trim()) : undefined;
}

function tokens(value: unknown, flag: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const budget = parseBudget(value, flag);
  if (budget.budgetTokens === undefined) throw new TypeError(`${flag} takes tokens (250k, 1M), not a time`);
  return budget.budgetTokens;
}

async function runCommand(inputs: string[], flags: Record<string, unknown>): Promise<void> {
  const options = optionsFromFlags(EXPERIMENT_FLAGS, flags) as Partial<ExperimentOptions>;
  const abort = abortOnSignals();
  const quiet = flags.quiet === true;
  const display = progressLine(quiet);
  try {
    const ratios = list(flags.ratios)?.map(Number);
    const result = await runExperiment({
      ...options,
      inputs,
      out: flags.out as string,
      strategies: list(flags.strategies) as ExperimentOptions['strategies'],
      pruneRatios: ratios,
      regimes: list(flags.regimes) as ExperimentOptions['regimes'],
      budgetTokens: tokens(flags.budget, '--budget'),
      probeBudgetTokens: tokens(flags.probeBudget, '--probe-budget'),
      signal: abort.signal,
      onProgress: display,
    });
    if (!quiet) {
      const lines = result.analysis.verdicts.map((v) => `  ${v.verdict}`);
      process.stderr.write(
        `infoprune experiment: ${result.runs.length} runs (${result.resumedRuns} from an earlier session) → ${result.results}, ${result.report}, ${result.summary}\n${lines.join('\n')}\n`,
      );
    }
  } catch (error) {
    if (abort.signal.aborted) {
      process.stderr.write(
        'infoprune experiment: stopped; the finished runs are kept: run the same command to continue\n',
      );
      process.exitCode = 130;
      return;
    }
    throw error;
  } finally {
    abort.dispose();
  }
}

/** A line on each phase change and each finished run, and at most every 10 s while training. */
function progressLine(quiet: boolean): (progress: ExperimentProgress) => void {
  let last = 0;
  let phase = '';
  let done = -1;
  return (progress) => {
    if (quiet) return;
    const now = performance.now();
    const changed = progress.phase !== phase || progress.runsDone !== done;
    if (!changed && now - last < 10_000) return;
    phase = progress.phase;
    done = progress.runsDone;
    last = now;
    if (progress.phase !== 'training') {
      const steps = progress.steps === undefined ? '' : ` step ${progress.steps}/${progress.totalSteps}`;
      process.stderr.write(`infoprune experiment: ${progress.phase}…${progress.phase === 'probe' ? steps : ''}\n`);
      return;
    }
    const step = progress.steps === undefined ? '' : `, ${progress.run} step ${progress.steps}/${progress.totalSteps}`;
    const rate = progress.tokensPerSecond
      ? `, ${formatCount(progress.tokensPerSecond, { compact: true })} tokens/s`
      : '';
    process.stderr.write(
      `infoprune experiment: run ${progress.runsDone}/${progress.runsTotal}${step}${rate}, ETA ${formatDuration(progress.etaSeconds)}\n`,
    );
  };
}
