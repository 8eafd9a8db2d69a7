import type { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function registerMakeModelCommand(program: Command): void {
  program.command('make-model').description('(not implemented yet)').action(() => {
    throw new Error('infoprune make-model is not implemented yet');
  });
}
