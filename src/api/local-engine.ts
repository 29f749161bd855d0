// The engine in this thread: load a model from byte sources, answer chat completions (streaming or not).
// The CLI uses it directly; the pages reach it in a dedicated worker through worker-engine.ts.
import type { ByteSource } from '../core/byte-source.ts';
import { EngineError } from '../core/errors.ts';
import { mdString, type Metadata } from '../gguf/metadata.ts';
import { defaultRulesFile, familyOf, loadRules, planPlacement } from '../placement/index.ts';
import { openGGUF } from '../gguf/model.ts';
import { mergeHfConfig } from '../models/hf-config.ts';
import { generate, type GenerationStats } from '../runtime/generate.ts';
import { promptTokens } from '../runtime/prompt.ts';
import { ReferenceSession } from '../runtime/reference-session.ts';
import { DEFAULT_SAMPLER, Sampler } from '../runtime/sampler.ts';
import { chatTemplateFromGGUF, fromGGUFMetadata, fromTokenizerJson, selectChatTemplate, type Tokenizer } from '../tokenizer/index.ts';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, FinishReason, LoadProgress, ModelInfo, PlanSummary, Timings } from './types.ts';

export interface ModelSource {
  readonly first: ByteSource;
  readonly openShard?: (name: string) => Promise<ByteSource>;
  /** Parsed HF files that came with the model (--model-path, or picked with the GGUF in a page). */
  readonly config?: unknown;
  readonly tokenizerJson?: unknown;
  readonly tokenizerConfig?: unknown;
  readonly generationConfig?: unknown;
}

export interface LoadOptions {
  readonly nCtx?: number;
  readonly onProgress?: (p: LoadProgress) => void;
}

interface Loaded {
  readonly session: ReferenceSession;
  readonly md: Metadata;
  readonly tensorBytes: ReadonlyMap<string, number>;
  readonly tokenizer: Tokenizer;
  readonly template: string | null;
  readonly info: ModelInfo;
  readonly gen: { temperature?: number; top_p?: number; top_k?: number };
}

let nextId = 0;

export class LocalEngine {
  private model: Loaded | undefined;
  private busy = false;

  async load(src: ModelSource, o: LoadOptions = {}): Promise<ModelInfo> {
    this.model = undefined;
    o.onProgress?.({ phase: 'header', bytesDone: 0, bytesTotal: src.first.size });
    const gguf = await openGGUF(src.first, src.openShard);
    try {
      const md = src.config !== undefined ? mergeHfConfig(gguf.metadata, src.config, 'config.json', gguf.name) : gguf.metadata;
      const tokenizer = src.tokenizerJson !== undefined ? fromTokenizerJson(src.tokenizerJson, src.tokenizerConfig ?? {}) : fromGGUFMetadata(gguf.metadata, gguf.name);
      const cfgTemplate = src.tokenizerConfig !== undefined ? selectChatTemplate((src.tokenizerConfig as { chat_template?: unknown }).chat_template) : null;
      const template = cfgTemplate ?? chatTemplateFromGGUF(gguf.metadata) ?? tokenizer.chatTemplate;
      const nCtx = o.nCtx ?? 2048;
      const session = await ReferenceSession.load(gguf, nCtx, false, md, (done, total) => o.onProgress?.({ phase: 'weights', bytesDone: done, bytesTotal: total }));
      let weightBytes = 0;
      let nParams = 0;
      for (const t of gguf.tensors.values()) {
        weightBytes += t.info.nBytes;
        nParams += t.info.nElements;
      }
      const g = (src.generationConfig ?? {}) as Record<string, unknown>;
      const num = (k: string): number | undefined => (g['do_sample'] !== false && typeof g[k] === 'number' ? g[k] : undefined);
      const info: ModelInfo = {
        name: src.first.name,
        architecture: mdString(md, 'general.architecture', gguf.name),
        nParams,
        weightBytes,
        nCtx,
        hasChatTemplate: template !== null,
        backend: 'cpu-ref (reference CPU engine)',
      };
      const tensorBytes = new Map([...gguf.tensors].map(([n, t]) => [n, t.info.nBytes]));
      this.model = { session, md, tensorBytes, tokenizer, template, info, gen: { temperature: num('temperature'), top_p: num('top_p'), top_k: num('top_k') } };
      o.onProgress?.({ phase: 'ready', bytesDone: weightBytes, bytesTotal: weightBytes });
      return info;
    } finally {
      await gguf.close();
    }
  }

  get info(): ModelInfo | undefined {
    return this.model?.info;
  }

  /** The rule file the model gets by default (see rules/). */
  defaultRules(): string {
    const m = this.loaded();
    return defaultRulesFile(m.session.model, familyOf(m.md, m.session.model));
  }

  /**
   * Placement + memory plan of the loaded model under a rules text (`extends` resolved through `readRule`).
   * Rule errors are EngineError('rule_invalid') with file:line.
   */
  async plan(rulesName: string, rulesText: string, readRule: (name: string) => Promise<string>, nCtx?: number): Promise<PlanSummary> {
    const m = this.loaded();
    const rules = await loadRules(rulesName, (n) => (n === rulesName ? Promise.resolve(rulesText) : readRule(n)), (_from, rel) => rel);
    const p = planPlacement(m.md, m.session.model, m.tensorBytes, rules, { nCtx: nCtx ?? m.info.nCtx });
    const count = (d: string): number => p.modules.filter((x) => x.placement.generate === d && x.tensors.length > 0).length;
    return { devices: p.devices, modulesOnGpu: count('gpu'), modulesOnCpu: count('cpu'), wasmShards: p.wasmShards };
  }

  /** The prompt tokens a request's messages become (chat template or raw text). */
  promptTokens(messages: ChatCompletionRequest['messages'], raw = false): number[] {
    const m = this.loaded();
    return promptTokens(m.tokenizer, m.template, messages, raw);
  }

  tokenize(text: string): number[] {
    return this.loaded().tokenizer.encode(text);
  }

  private loaded(): Loaded {
    if (this.model === undefined) throw new EngineError('bad_argument', 'no model is loaded; load one first');
    return this.model;
  }

  /** Streams the answer as OpenAI chat.completion.chunk objects; the last chunk has finish_reason and usage. */
  async *stream(req: ChatCompletionRequest, signal?: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
    const m = this.loaded();
    if (this.busy) throw new EngineError('bad_argument', 'the engine is already generating; stop it or wait for the answer');
    this.busy = true;
    try {
      const id = `chatcmpl-${Date.now().toString(36)}-${nextId++}`;
      const created = Math.floor(Date.now() / 1000);
      const base = { id, object: 'chat.completion.chunk' as const, created, model: m.info.name };
      const sampler = new Sampler({
        temperature: req.temperature ?? m.gen.temperature ?? 0,
        topK: req.top_k ?? m.gen.top_k ?? DEFAULT_SAMPLER.topK,
        topP: req.top_p ?? m.gen.top_p ?? DEFAULT_SAMPLER.topP,
        minP: req.min_p ?? DEFAULT_SAMPLER.minP,
        repeatPenalty: req.repetition_penalty ?? 1,
        repeatLastN: DEFAULT_SAMPLER.repeatLastN,
        seed: req.seed ?? 0,
      });
      m.session.reset();
      const prompt = promptTokens(m.tokenizer, m.template, req.messages, req.raw === true);
      const stats: GenerationStats = { promptTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0, stopReason: 'length' };
      const tok = { createStreamDecoder: () => m.tokenizer.createStreamDecoder(), isEog: (t: number) => m.tokenizer.eog.has(t) };
      yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
      for await (const step of generate(m.session, tok, sampler, prompt, req.max_tokens ?? 512, stats, signal)) {
        yield { ...base, choices: [{ index: 0, delta: { content: step.text }, finish_reason: null }], token_ids: step.token >= 0 ? [step.token] : [] };
      }
      const finish: FinishReason = stats.stopReason === 'eog' ? 'stop' : stats.stopReason === 'aborted' ? 'abort' : 'length';
      const usage = { prompt_tokens: stats.promptTokens, completion_tokens: stats.generatedTokens, total_tokens: stats.promptTokens + stats.generatedTokens };
      yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }], usage, timings: timings(stats) };
    } finally {
      this.busy = false;
    }
  }

  /** The whole answer at once. */
  async complete(req: ChatCompletionRequest, signal?: AbortSignal): Promise<ChatCompletion> {
    let text = '';
    const ids: number[] = [];
    let last: ChatCompletionChunk | undefined;
    for await (const c of this.stream(req, signal)) {
      text += c.choices[0].delta.content ?? '';
      ids.push(...(c.token_ids ?? []));
      last = c;
    }
    const m = this.loaded();
    return {
      id: last!.id,
      object: 'chat.completion',
      created: last!.created,
      model: last!.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: last!.choices[0].finish_reason ?? 'length' }],
      usage: last!.usage!,
      timings: last!.timings!,
      token_ids: ids,
      prompt_token_ids: promptTokens(m.tokenizer, m.template, req.messages, req.raw === true),
    };
  }
}

function timings(s: GenerationStats): Timings {
  const tps = (n: number, ms: number): number => (ms > 0 ? Math.round((n / ms) * 1e4) / 10 : 0);
  return {
    prompt_tokens: s.promptTokens,
    prefill_ms: Math.round(s.prefillMs),
    prefill_tokens_per_s: tps(s.promptTokens, s.prefillMs),
    completion_tokens: s.generatedTokens,
    decode_ms: Math.round(s.decodeMs),
    decode_tokens_per_s: tps(s.generatedTokens, s.decodeMs),
  };
}
