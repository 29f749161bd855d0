// `ktweb chat`: generation on the engine as the placement rules put it (WebGPU, WASM or both). With --prompt: one answer, streamed; without:
// an interactive conversation. Ctrl-C stops the current answer; Ctrl-C at the prompt (or Ctrl-D) leaves.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { EngineError } from '../core/errors.ts';
import type { ChatCompletionChunk, ChatMessage } from '../api/types.ts';
import { DEFAULT_SAMPLER } from '../runtime/sampler.ts';
import { addEngineOptions, loadEngine, type EngineCliOptions } from './engine-options.ts';

interface ChatOptions extends EngineCliOptions {
  prompt?: string;
  maxNewTokens: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  minP: string;
  repeatPenalty: string;
  seed: string;
  raw?: boolean;
  json?: boolean;
}

function num(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new EngineError('bad_argument', `--${name} ${v}: expected a number ≥ ${min}`);
  return n;
}

export function registerChat(program: Command): void {
  addEngineOptions(program.command('chat').description('chat with a model; interactive without --prompt'))
    .option('--prompt <text>', 'answer this one message and exit')
    .option('--max-new-tokens <n>', 'tokens to generate per answer', '256')
    .option('--temperature <t>', '0 = greedy (default: generation_config.json of --model-path, else 0)')
    .option('--top-k <n>', `0 = off (default: generation_config.json, else ${DEFAULT_SAMPLER.topK})`)
    .option('--top-p <p>', `1 = off (default: generation_config.json, else ${DEFAULT_SAMPLER.topP})`)
    .option('--min-p <p>', '0 = off', String(DEFAULT_SAMPLER.minP))
    .option('--repeat-penalty <r>', '1 = off', '1')
    .option('--seed <n>', 'sampling seed', '0')
    .option('--raw', 'no chat template: continue the text as it is')
    .option('--json', 'print token ids, text and timings as JSON')
    .action(async (o: ChatOptions) => {
      const { engine } = await loadEngine(o, o.json === true);
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
        await engine.unload(); // stops the CPU workers, frees GPU buffers
      }
    });
}
