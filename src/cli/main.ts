#!/usr/bin/env node
/** The `infoprune` command: each subcommand lives in its own file beside this one. */
import { Command } from 'commander';
import { packageVersion } from '../util/version.js';
import { registerAnnotateCommand } from './annotate.js';
import { registerExperimentCommand } from './experiment.js';
import { registerMakeModelCommand } from './make-model.js';
import { registerMergeCommand } from './merge.js';
import { registerPruneCommand } from './prune.js';
import { registerScoreCommand } from './score.js';
import { registerTrainCommand } from './train.js';

const program = new Command()
  .name('infoprune')
  .description(
    'Rank and prune LLM training corpora by information content: the description length a GGUF language model ' +
      'assigns to each document (Kim & Baek, arXiv 2406.14124).',
  )
  .version(packageVersion)
  .showHelpAfterError();

registerScoreCommand(program);
registerTrainCommand(program);
registerPruneCommand(program);
registerMergeCommand(program);
registerAnnotateCommand(program);
registerExperimentCommand(program);
registerMakeModelCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`infoprune: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
