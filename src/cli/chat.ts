// `ktweb chat`: generation on the reference engine (cpu-ref). With --prompt: one answer, streamed; without:
// an interactive conversation. Ctrl-C stops the current answer; Ctrl-C at the prompt (or Ctrl-D) leaves.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { EngineError } from '../core/errors.ts';
import { LocalEngine } from '../api/local-engine.ts';
import type { ChatCompletionChunk, ChatMessage } from '../api/types.ts';
import { DEFAULT_SAMPLER } from '../runtime/sampler.ts';
import { nodeModelSource } from './load-text-model.ts';

interface ChatOptions {
  ggufPath?: string;
  modelPath?: string;
  rules?: string;
  prompt?: string;
  maxNewTokens: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  minP: string;
  repeatPenalty: string;
  seed: string;
  ctx: string;
  cpuThreads?: string;
  device: string;
  raw?: boolean;
  json?: boolean;
}

function num(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new EngineError('bad_argument', `--${name} ${v}: expected a number ≥ ${min}`);
  return n;
}

export function registerChat(program: Command): void {
  program
    .command('chat')
    .description('chat with a model (reference CPU engine); interactive without --prompt')
    .option('--gguf-path <file>', 'GGUF model (split models: the first part)')
    .option('--model-path <dir>', 'HF model directory (tokenizer.json, tokenizer_config.json)')
    .option('--rules <file>', 'placement rules (the hybrid runtime; the reference engine runs all on the CPU)')
    .option('--prompt <text>', 'answer this one message and exit')
    .option('--max-new-tokens <n>', 'tokens to generate per answer', '256')
    .option('--temperature <t>', '0 = greedy (default: generation_config.json of --model-path, else 0)')
    .option('--top-k <n>', `0 = off (default: generation_config.json, else ${DEFAULT_SAMPLER.topK})`)
    .option('--top-p <p>', `1 = off (default: generation_config.json, else ${DEFAULT_SAMPLER.topP})`)
    .option('--min-p <p>', '0 = off', String(DEFAULT_SAMPLER.minP))
    .option('--repeat-penalty <r>', '1 = off', '1')
    .option('--seed <n>', 'sampling seed', '0')
    .option('--ctx <n>', 'context size in tokens', '2048')
    .option('--cpu-threads <n>', 'CPU threads (the reference engine uses one)')
    .option('--device <d>', 'auto|gpu|cpu (the reference engine is CPU-only)', 'auto')
    .option('--raw', 'no chat template: continue the text as it is')
    .option('--json', 'print token ids, text and timings as JSON')
    .action(async (o: ChatOptions) => {
      if (o.ggufPath === undefined) throw new EngineError('bad_argument', 'give --gguf-path FILE.gguf (weights are read from the GGUF)');
      if (!['auto', 'gpu', 'cpu'].includes(o.device)) throw new EngineError('bad_argument', `--device ${o.device}: expected auto, gpu or cpu`);
      if (o.device === 'gpu') throw new EngineError('bad_argument', '--device gpu needs the WebGPU backend, which is not built yet; use --device cpu');
      const engine = new LocalEngine();
      await engine.load(await nodeModelSource(o.ggufPath, o.modelPath), { nCtx: num('ctx', o.ctx, 8) });
      const req = {
        max_tokens: num('max-new-tokens', o.maxNewTokens, 1),
        ...(o.temperature !== undefined ? { temperature: num('temperature', o.temperature, 0) } : {}),
        ...(o.topK !== undefined ? { top_k: num('top-k', o.topK, 0) } : {}),
        ...(o.topP !== undefined ? { top_p: num('top-p', o.topP, 0) } : {}),
        min_p: num('min-p', o.minP, 0),
        repetition_penalty: num('repeat-penalty', o.repeatPenalty, 0),
        seed: num('seed', o.seed, 0),
        raw: o.raw === true,
      };
      let abort: AbortController | undefined;
      const onSigint = (): void => {
        if (abort !== undefined) abort.abort();
        else process.exit(130);
      };
      process.on('SIGINT', onSigint);

      const answer = async (messages: ChatMessage[]): Promise<string> => {
        const ids: number[] = [];
        let text = '';
        let last: ChatCompletionChunk | undefined;
        abort = new AbortController();
        for await (const c of engine.stream({ ...req, messages }, abort.signal)) {
          const d = c.choices[0].delta.content ?? '';
          ids.push(...(c.token_ids ?? []));
          text += d;
          if (o.json !== true) process.stdout.write(d);
          last = c;
        }
        abort = undefined;
        const t = last!.timings!;
        const stop = last!.choices[0].finish_reason === 'abort' ? 'aborted' : last!.choices[0].finish_reason === 'stop' ? 'eog' : 'length';
        if (o.json === true) {
          const prompt_ids = engine.promptTokens(messages, o.raw === true);
          process.stdout.write(`${JSON.stringify({ prompt_ids, ids, text, stop, timings: t })}\n`);
        } else {
          process.stderr.write(`\n[${t.prompt_tokens} prompt tokens at ${t.prefill_tokens_per_s} t/s, ${t.completion_tokens} generated at ${t.decode_tokens_per_s} t/s, stop: ${stop}]\n`);
        }
        return text;
      };

      try {
        if (o.prompt !== undefined) {
          await answer([{ role: 'user', content: o.prompt }]);
          return;
        }
        const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY, prompt: '> ' });
        rl.on('SIGINT', onSigint);
        const history: ChatMessage[] = [];
        rl.prompt();
        // The async iterator ends when stdin closes (Ctrl-D, end of a pipe); lines typed meanwhile are queued.
        for await (const line of rl) {
          if (line.trim() !== '') {
            history.push({ role: 'user', content: line });
            history.push({ role: 'assistant', content: await answer(history) });
          }
          rl.prompt();
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
