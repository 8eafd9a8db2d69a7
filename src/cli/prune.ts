import type { Command } from 'commander';

// Placeholder until the owning issue lands; replaced wholesale by its implementation.
export function registerPruneCommand(program: Command): void {
  program.command('prune').description('(not implemented yet)').action(() => {
    throw new Error('infoprune prune is not implemented yet');
  });
}
