// The `ktweb` command line (DESIGN.md §5). Each command lives in its own module and registers itself here.
// Exit codes: 0 ok, 2 bad input (a typed EngineError, printed as one line), 1 internal error.
import { Command, CommanderError } from 'commander';
import { isEngineError } from '../core/errors.ts';
import { registerInspect } from './inspect.ts';
import { registerMakeModel } from './make-model.ts';
import { registerChat } from './chat.ts';
import { registerTokenize } from './tokenize.ts';
import { registerPlan } from './plan.ts';
import { registerServe } from './serve.ts';
import { registerBench } from './bench.ts';

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('ktweb')
    .description('MoE LLM inference from GGUF files: WebGPU + WASM, in the browser and in Node')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerInspect(program);
  registerMakeModel(program);
  registerChat(program);
  registerTokenize(program);
  registerPlan(program);
  registerServe(program);
  registerBench(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (isEngineError(e)) {
      process.stderr.write(`${e.oneLine()}\n`);
      return 2;
    }
    process.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
