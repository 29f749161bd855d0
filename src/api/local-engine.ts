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
import { deferExperts, loadExecutor, type ComputeDevices, type LoadedExecutor } from '../runtime/engine-executor.ts';
import { Session } from '../runtime/session.ts';
import { HybridExecutor } from '../runtime/hybrid-executor.ts';
import { engineKernelCases, measureKernels, type KernelBenchOptions, type KernelStat } from '../runtime/kernel-bench.ts';
import { nodeDevices } from '../runtime/placement-devices.ts';
import { type Model } from '../models/model.ts';
import { modelFromGGUF } from '../models/registry.ts';
import type { PlacementPlan } from '../placement/index.ts';
import { DEFAULT_SAMPLER, Sampler } from '../runtime/sampler.ts';
import { chatTemplateFromGGUF, fromGGUFMetadata, fromTokenizerJson, selectChatTemplate, type Tokenizer } from '../tokenizer/index.ts';
import type { EngineStats, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, FinishReason, LoadProgress, ModelInfo, PlanSummary, Timings } from './types.ts';

export interface ModelSource {
  readonly first: ByteSource;
  readonly openShard?: (name: string) => Promise<ByteSource>;
  /** Parsed HF files that came with the model (--model-path, or picked with the GGUF in a page). */
  readonly config?: unknown;
  readonly tokenizerJson?: unknown;
  readonly tokenizerConfig?: unknown;
  readonly generationConfig?: unknown;
}

export type DeviceChoice = 'auto' | 'gpu' | 'cpu';

export interface LoadOptions {
  readonly nCtx?: number;
  readonly onProgress?: (p: LoadProgress) => void;
  /** Placement rules by name (a shipped file or a path the face can read); default: chosen from the architecture. */
  readonly rules?: string;
  /** The text of `rules` when it was edited in place (the chat page's editor). */
  readonly rulesText?: string;
  /** auto: the model's rules when a GPU is here, else all-CPU; gpu: the model's rules; cpu: all-CPU. */
  readonly device?: DeviceChoice;
  readonly cpuThreads?: number;
  /** Prompt tokens per prefill batch (default 512). */
  readonly chunkSize?: number;
  /** Hybrid: run the GPU's shared experts while the CPU runs the routed ones (default on). */
  readonly overlap?: boolean;
}

export interface EngineOptions {
  /** The devices of this face (CLI: Dawn + Node workers; page: navigator.gpu + Web Workers). Default: cpu-ref only. */
  readonly devices?: ComputeDevices;
  /** Reads a rule file by name (shipped files by bare name, e.g. `mixtral.yaml`) or relative path. */
  readonly readRule?: (name: string) => Promise<string>;
  /** Resolves `extends:` of one rule file against another; default: the bare name. */
  readonly resolveRule?: (from: string, rel: string) => string;
}

const ALL_CPU_RULES = 'all-cpu.yaml';

interface Loaded {
  readonly session: Session;
  readonly model: Model;
  readonly executor: LoadedExecutor;
  readonly plan: PlacementPlan;
  readonly md: Metadata;
  readonly tensorBytes: ReadonlyMap<string, number>;
  readonly tensorTypes: ReadonlyMap<string, number>;
  readonly tokenizer: Tokenizer;
  readonly template: string | null;
  readonly info: ModelInfo;
  readonly gen: { temperature?: number; top_p?: number; top_k?: number };
}

let nextId = 0;

export class LocalEngine {
  private model: Loaded | undefined;
  private busy = false;

  constructor(private readonly opts: EngineOptions = {}) {}

  private readRule(name: string): Promise<string> {
    if (this.opts.readRule === undefined) throw new EngineError('rule_invalid', `rules file ${name} cannot be read here`, { file: name });
    return this.opts.readRule(name);
  }

  /** Frees the loaded model's device memory and workers. */
  async unload(): Promise<void> {
    const m = this.model;
    this.model = undefined;
    await m?.executor.dispose();
  }

  async load(src: ModelSource, o: LoadOptions = {}): Promise<ModelInfo> {
    if (this.busy) throw new EngineError('bad_argument', 'the engine is generating; stop it before loading a model');
    await this.unload();
    o.onProgress?.({ phase: 'header', bytesDone: 0, bytesTotal: src.first.size });
    const gguf = await openGGUF(src.first, src.openShard);
    try {
      const md = src.config !== undefined ? mergeHfConfig(gguf.metadata, src.config, 'config.json', gguf.name) : gguf.metadata;
      const tokenizer = src.tokenizerJson !== undefined ? fromTokenizerJson(src.tokenizerJson, src.tokenizerConfig ?? {}) : fromGGUFMetadata(gguf.metadata, gguf.name);
      const cfgTemplate = src.tokenizerConfig !== undefined ? selectChatTemplate((src.tokenizerConfig as { chat_template?: unknown }).chat_template) : null;
      const template = cfgTemplate ?? chatTemplateFromGGUF(gguf.metadata) ?? tokenizer.chatTemplate;
      const nCtx = o.nCtx ?? 2048;
      const model = modelFromGGUF(gguf, md);
      const tensorBytes = new Map([...gguf.tensors].map(([n, t]) => [n, t.info.nBytes]));
      const tensorTypes = new Map([...gguf.tensors].map(([n, t]) => [n, t.info.type]));
      const devices = this.opts.devices ?? { cores: 1 };
      const device = o.device ?? 'auto';
      if (device === 'gpu' && devices.gpu === undefined) throw new EngineError('bad_argument', `--device gpu: ${devices.gpuMissing ?? 'there is no WebGPU device here'}`);
      const rulesName = o.rules ?? (device === 'cpu' || (device === 'auto' && devices.gpu === undefined) ? ALL_CPU_RULES : defaultRulesFile(model, familyOf(md, model)));
      const rules = await loadRules(rulesName, (n) => (n === rulesName && o.rulesText !== undefined ? Promise.resolve(o.rulesText) : this.readRule(n)), this.opts.resolveRule ?? ((_f, rel) => rel));
      const plan = planPlacement(md, model, tensorBytes, rules, { nCtx });
      const defer = deferExperts(plan, model.hp.nExpertUsed); // a bad kwarg fails before any weight is read
      const executor = await loadExecutor(gguf, model, plan, devices, {
        nCtx,
        cpuThreads: o.cpuThreads,
        rulesName,
        overlap: o.overlap,
        onProgress: (done, total) => o.onProgress?.({ phase: 'weights', bytesDone: done, bytesTotal: total }),
      });
      const session = new Session(model, executor.exec, nCtx, o.chunkSize, defer);
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
        backend: executor.label,
        rules: rulesName,
      };
      this.model = { session, model, executor, plan, md, tensorBytes, tensorTypes, tokenizer, template, info, gen: { temperature: num('temperature'), top_p: num('top_p'), top_k: num('top_k') } };
      o.onProgress?.({ phase: 'ready', bytesDone: weightBytes, bytesTotal: weightBytes });
      return info;
    } finally {
      await gguf.close();
    }
  }

  get info(): ModelInfo | undefined {
    return this.model?.info;
  }

  /** Live memory per device, the last step's device times and the placement summary. */
  stats(): EngineStats {
    const m = this.loaded();
    const ex = m.executor.exec;
    return {
      memory: m.executor.memory(),
      ...(ex instanceof HybridExecutor ? { lastStep: { ...ex.stats } } : {}),
      placement: { rules: m.info.rules, modulesOnGpu: modulesOn(m.plan, 'gpu'), modulesOnCpu: modulesOn(m.plan, 'cpu') },
    };
  }

  /** The loaded model's session, executor and plan (benchmarks drive token ids through it directly). */
  get runtime(): { readonly session: Session; readonly executor: LoadedExecutor; readonly plan: PlacementPlan; readonly model: Model } {
    const m = this.loaded();
    return { session: m.session, executor: m.executor, plan: m.plan, model: m.model };
  }

  /**
   * Per-kernel GB/s of a decode step, measured on the loaded model's own weights on the device its placement gives
   * each kernel (runtime/kernel-bench.ts: what a call includes and how it is timed). Not while generating.
   */
  async kernelBench(o: KernelBenchOptions = {}): Promise<KernelStat[]> {
    const m = this.loaded();
    if (this.busy) throw new EngineError('bad_argument', 'the engine is generating; stop it or wait for the answer before timing kernels');
    this.busy = true;
    try {
      const where = nodeDevices(m.plan);
      const tensor = (name: string): { type: number; nBytes: number } => {
        const type = m.tensorTypes.get(name);
        const nBytes = m.tensorBytes.get(name);
        if (type === undefined || nBytes === undefined) throw new EngineError('model_invalid', `tensor ${name} is not in the model`, { tensor: name });
        return { type, nBytes };
      };
      const decode = (): ReturnType<Model['build']> => m.model.build({ nTokens: 1, allLogits: false, deferExperts: m.session.deferExperts });
      const cases = engineKernelCases(m.executor.exec, decode, (n) => where(n, 1), tensor);
      return await measureKernels(m.executor.exec, cases, o);
    } finally {
      this.busy = false;
    }
  }

  /** The rule file the model gets by default (see rules/). */
  defaultRules(): string {
    const m = this.loaded();
    return defaultRulesFile(m.model, familyOf(m.md, m.model));
  }

  /**
   * Placement + memory plan of the loaded model under a rules text (`extends` resolved through `readRule`).
   * Rule errors are EngineError('rule_invalid') with file:line.
   */
  async plan(rulesName: string, rulesText: string, readRule: (name: string) => Promise<string>, nCtx?: number): Promise<PlanSummary> {
    const m = this.loaded();
    const rules = await loadRules(rulesName, (n) => (n === rulesName ? Promise.resolve(rulesText) : readRule(n)), this.opts.resolveRule ?? ((_from, rel) => rel));
    const p = planPlacement(m.md, m.model, m.tensorBytes, rules, { nCtx: nCtx ?? m.info.nCtx });
    return { devices: p.devices, modulesOnGpu: modulesOn(p, 'gpu'), modulesOnCpu: modulesOn(p, 'cpu'), wasmShards: p.wasmShards };
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

/** Modules holding weights that decode on `d`. */
function modulesOn(p: PlacementPlan, d: 'gpu' | 'cpu'): number {
  return p.modules.filter((x) => x.placement.generate === d && x.tensors.length > 0).length;
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
