import type { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function registerScoreCommand(program: Command): void {
  program.command('score').description('(not implemented yet)').action(() => {
    throw new Error('infoprune score is not implemented yet');
  });
}
