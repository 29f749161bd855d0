import type { Command } from 'commander';

export function registerMakeModel(program: Command): void {
  void program;
}
