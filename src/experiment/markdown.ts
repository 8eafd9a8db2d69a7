/**
 * summary.md: the experiment's verdicts and tables as Markdown (for a README, an issue or docs/experiments.md),
 * from the same results file report.html is drawn from.
 */
import { FULL } from './plan.js';
import type { ResultsFile } from './results.js';

const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
const pm = (mean: number, sd: number) => `${mean.toFixed(4)} ± ${sd.toFixed(4)}`;

export function renderExperimentMarkdown(results: ResultsFile): string {
  const { analysis } = results;
  const order = <T extends { regime: string; ratio: number; strategy: string }>(items: readonly T[]) =>
    [...items].sort(
      (a, b) => a.regime.localeCompare(b.regime) || a.ratio - b.ratio || a.strategy.localeCompare(b.strategy),
    );
  const lines = ['**Verdicts** (strategy − random at the same seeds, held-out bits/byte, 95 % CI):', ''];
  for (const verdict of analysis.verdicts) lines.push(`- ${verdict.verdict}`);
  lines.push(
    '',
    row([
      'strategy',
      'pruned',
      'regime',
      'kept tokens',
      'kept docs',
      'tokens trained',
      'seeds',
      'bits/byte',
      'bits/token',
    ]),
    row(['---', '---:', '---', '---:', '---:', '---:', '---:', '---:', '---:']),
  );
  for (const s of order(analysis.summaries)) {
    lines.push(
      row([
        s.strategy === FULL ? 'full pool' : s.strategy,
        `${Math.round(s.ratio * 100)} %`,
        s.regime,
        s.keptFraction.toFixed(3),
        Math.round(s.keptDocuments),
        Math.round(s.tokensTrained),
        s.bitsPerByte.n,
        pm(s.bitsPerByte.mean, s.bitsPerByte.sd),
        pm(s.bitsPerToken.mean, s.bitsPerToken.sd),
      ]),
    );
  }
  lines.push('', row(['strategy − random', 'pruned', 'regime', 'seeds', 'mean (bits/byte)', '95 % CI', 'outcome']));
  lines.push(row(['---', '---:', '---', '---:', '---:', '---', '---']));
  for (const c of order(analysis.comparisons)) {
    const ci =
      c.halfWidth === null
        ? '–'
        : `[${(c.difference.mean - c.halfWidth).toFixed(4)}, ${(c.difference.mean + c.halfWidth).toFixed(4)}]`;
    const name = c.strategy === FULL ? 'full pool' : c.strategy;
    lines.push(
      row([
        name,
        `${Math.round(c.ratio * 100)} %`,
        c.regime,
        c.seeds.length,
        c.difference.mean.toFixed(4),
        ci,
        c.outcome,
      ]),
    );
  }
  return `${lines.join('\n')}\n`;
}
