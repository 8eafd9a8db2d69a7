import type { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function registerMergeCommand(program: Command): void {
  program.command('merge').description('(not implemented yet)').action(() => {
    throw new Error('infoprune merge is not implemented yet');
  });
}
