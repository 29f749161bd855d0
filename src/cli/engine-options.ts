// The engine options every model-running command shares (chat, serve, bench): rules, device, threads, context
// and prefill chunk; and loading the engine with them on this machine's devices.
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { LocalEngine, type DeviceChoice } from '../api/local-engine.ts';
import type { ModelInfo } from '../api/types.ts';
import { EngineError } from '../core/errors.ts';
import { nodeModelSource } from './load-text-model.ts';
import { nodeComputeDevices } from './node-devices.ts';
import { isRulesPath, readRuleFile } from './rules-files.ts';

export interface EngineCliOptions {
  ggufPath?: string;
  modelPath?: string;
  rules?: string;
  ctx: string;
  cpuThreads?: string;
  device: string;
  chunkSize: string;
  overlap: boolean;
}

export function addEngineOptions(c: Command): Command {
  return c
    .option('--gguf-path <file>', 'GGUF model (split models: the first part)')
    .option('--model-path <dir>', 'HF model directory (config.json, tokenizer.json, tokenizer_config.json)')
    .option('--rules <file>', 'placement rules (default: chosen from the architecture, see rules/; all-CPU without a GPU)')
    .option('--device <d>', 'auto|gpu|cpu: auto uses a hardware GPU when there is one', 'auto')
    .option('--cpu-threads <n>', 'CPU worker threads (default: physical cores)')
    .option('--ctx <n>', 'context size in tokens', '2048')
    .option('--chunk-size <n>', 'prompt tokens per prefill batch', '512')
    .option('--no-overlap', 'hybrid: wait for the CPU experts instead of running the shared experts meanwhile');
}

export function intArg(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new EngineError('bad_argument', `--${name} ${v}: expected an integer ≥ ${min}`);
  return n;
}


/** Loads the model with the options on this machine's devices; progress on stderr when it is a terminal. */
export async function loadEngine(o: EngineCliOptions, quiet = false): Promise<{ engine: LocalEngine; info: ModelInfo }> {
  if (o.ggufPath === undefined) throw new EngineError('bad_argument', 'give --gguf-path FILE.gguf (weights are read from the GGUF)');
  if (!['auto', 'gpu', 'cpu'].includes(o.device)) throw new EngineError('bad_argument', `--device ${o.device}: expected auto, gpu or cpu`);
  const device = o.device as DeviceChoice;
  const cpuThreads = o.cpuThreads !== undefined ? intArg('cpu-threads', o.cpuThreads, 0) : undefined;
  const engine = new LocalEngine({
    devices: await nodeComputeDevices(device),
    readRule: readRuleFile,
    resolveRule: (from, rel) => (isAbsolute(from) || from.includes('/') ? resolve(dirname(resolve(from)), rel) : rel),
  });
  const tty = !quiet && process.stderr.isTTY;
  const info = await engine.load(await nodeModelSource(o.ggufPath, o.modelPath), {
    nCtx: intArg('ctx', o.ctx, 8),
    chunkSize: intArg('chunk-size', o.chunkSize, 1),
    device,
    overlap: o.overlap,
    // a user's file by its path, a shipped one by its bare name (as the engine reports it)
    ...(o.rules !== undefined ? { rules: isRulesPath(o.rules) ? resolve(o.rules) : o.rules } : {}),
    ...(cpuThreads !== undefined ? { cpuThreads } : {}),
    onProgress: (p) => {
      if (tty && p.phase === 'weights') process.stderr.write(`\rloading weights ${((100 * p.bytesDone) / Math.max(1, p.bytesTotal)).toFixed(0)}%`);
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  if (!quiet) process.stderr.write(`[${info.backend}; rules ${info.rules}]\n`);
  return { engine, info };
}
