// `ktweb chat`: generation on the reference engine (cpu-ref). With --prompt: one answer, streamed; without:
// an interactive conversation. Ctrl-C stops the current answer; Ctrl-C at the prompt (or Ctrl-D) leaves.
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { EngineError } from '../core/errors.ts';
import { generate, type GenerationStats } from '../runtime/generate.ts';
import { ReferenceSession } from '../runtime/reference-session.ts';
import { Sampler, DEFAULT_SAMPLER } from '../runtime/sampler.ts';
import { renderChat, type ChatMessage, type Tokenizer } from '../tokenizer/index.ts';
import { loadConfig, loadGenerationConfig, loadTokenizer } from './load-text-model.ts';
import { openModelFile } from './open-model.ts';

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

/** Prompt tokens for the conversation so far: the chat template when the model has one, else the raw text. */
function promptTokens(tok: Tokenizer, template: string | null, messages: readonly ChatMessage[], raw: boolean): number[] {
  if (template === null || raw) return tok.encode(messages.map((m) => m.content).join('\n'), { addSpecial: true });
  const bosText = tok.bos !== null ? tok.tokenText(tok.bos) : '';
  const text = renderChat(template, messages, { addGenerationPrompt: true, bosToken: bosText, eosToken: tok.eos !== null ? tok.tokenText(tok.eos) : '' });
  // Templates usually print BOS themselves; add it only when they did not (llama.cpp does the same check).
  const addSpecial = !(bosText !== '' && text.startsWith(bosText));
  return tok.encode(text, { addSpecial, parseSpecial: true });
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
      const gguf = await openModelFile(o.ggufPath);
      const { tokenizer, chatTemplate } = await loadTokenizer(gguf, o.modelPath);
      const metadata = await loadConfig(gguf, o.modelPath);
      const gen = await loadGenerationConfig(o.modelPath);
      const session = await ReferenceSession.load(gguf, num('ctx', o.ctx, 8), false, metadata);
      await gguf.close();
      const sampler = new Sampler({
        temperature: o.temperature !== undefined ? num('temperature', o.temperature, 0) : (gen.temperature ?? 0),
        topK: o.topK !== undefined ? num('top-k', o.topK, 0) : (gen.topK ?? DEFAULT_SAMPLER.topK),
        topP: o.topP !== undefined ? num('top-p', o.topP, 0) : (gen.topP ?? DEFAULT_SAMPLER.topP),
        minP: num('min-p', o.minP, 0),
        repeatPenalty: num('repeat-penalty', o.repeatPenalty, 0),
        repeatLastN: 64,
        seed: num('seed', o.seed, 0),
      });
      const maxNew = num('max-new-tokens', o.maxNewTokens, 1);
      const isEog = (id: number): boolean => tokenizer.eog.has(id);
      let abort: AbortController | undefined;
      const onSigint = (): void => {
        if (abort !== undefined) abort.abort();
        else process.exit(130);
      };
      process.on('SIGINT', onSigint);

      const answer = async (messages: ChatMessage[]): Promise<string> => {
        session.reset(); // the whole conversation is re-rendered through the template each turn
        const prompt = promptTokens(tokenizer, chatTemplate, messages, o.raw === true);
        const stats: GenerationStats = { promptTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0, stopReason: 'length' };
        const ids: number[] = [];
        let text = '';
        abort = new AbortController();
        for await (const step of generate(session, { createStreamDecoder: () => tokenizer.createStreamDecoder(), isEog }, sampler, prompt, maxNew, stats, abort.signal)) {
          if (step.token >= 0) ids.push(step.token);
          text += step.text;
          if (o.json !== true) process.stdout.write(step.text);
        }
        abort = undefined;
        const tps = (n: number, ms: number): number => (ms > 0 ? Math.round((n / ms) * 1e4) / 10 : 0);
        if (o.json === true) {
          process.stdout.write(`${JSON.stringify({ prompt_ids: prompt, ids, text, stop: stats.stopReason, timings: { prompt_tokens: stats.promptTokens, prefill_ms: Math.round(stats.prefillMs), prefill_tps: tps(stats.promptTokens, stats.prefillMs), generated_tokens: stats.generatedTokens, decode_ms: Math.round(stats.decodeMs), decode_tps: tps(stats.generatedTokens, stats.decodeMs) } })}\n`);
        } else {
          process.stderr.write(`\n[${stats.promptTokens} prompt tokens at ${tps(stats.promptTokens, stats.prefillMs)} t/s, ${stats.generatedTokens} generated at ${tps(stats.generatedTokens, stats.decodeMs)} t/s, stop: ${stats.stopReason}]\n`);
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
