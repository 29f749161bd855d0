// `ktweb make-model`: a synthetic random-weight GGUF that llama.cpp loads as the named architecture. Plans the
// tensors (architecture file), picks their types (quant mix), embeds a real tokenizer and streams the file
// through a ByteSink supplied by the caller, so this runs in Node and in a page alike.
import type { ByteSink } from '../../core/byte-source.ts';
import { EngineError } from '../../core/errors.ts';
import type { GGMLType } from '../../core/ggml-type.ts';
import { tensorBytes, writeGGUF, type TensorToWrite } from '../../gguf/writer.ts';
import { deepseek2Metadata, deepseek2Tensors } from './deepseek2.ts';
import { llamaMetadata, llamaTensors } from './llama.ts';
import { presetHParams, headCountKv, type SynthHParams } from './presets.ts';
import { chooseTypes, fileTypeOf, type QuantMix, type TensorTypeOverride } from './quant-mix.ts';
import { qwen2moeMetadata, qwen2moeTensors } from './qwen2moe.ts';
import { qwen3moeMetadata, qwen3moeTensors } from './qwen3moe.ts';
import { matrix, meta, norm, type MetaEntry, type SynthArch, type SynthPreset, type TensorPlan } from './spec.ts';
import { loadVocab, vocabMetadata, type SynthAssets } from './vocab.ts';
import { WeightFactory, type WeightOptions } from './weights.ts';

export interface MakeModelOptions {
  readonly arch: SynthArch;
  readonly preset: SynthPreset;
  readonly quant: QuantMix;
  /** Non-negative safe integer; the same seed gives a byte-identical file. */
  readonly seed: number;
  readonly overrides?: readonly TensorTypeOverride[];
  /** deepseek2 only: false for no q compression (attn_q instead of attn_q_a/attn_q_b). */
  readonly qLora?: boolean;
  /** deepseek2 only: attn_k_b + attn_v_b instead of attn_kv_b. */
  readonly mlaSplit?: boolean;
  readonly weights?: WeightOptions;
}

export interface TensorReport {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: GGMLType;
  readonly bytes: number;
  readonly fallbackFrom?: GGMLType;
  readonly override?: string;
}

export interface ModelPlan {
  readonly hp: SynthHParams;
  /** general.architecture */
  readonly ggufArch: string;
  readonly fileType: number;
  readonly tensors: readonly TensorReport[];
  readonly plans: readonly TensorPlan[];
  readonly archMetadata: readonly MetaEntry[];
  readonly nParams: number;
}

export interface MakeModelReport {
  readonly plan: ModelPlan;
  /** Bytes written, header and padding included. */
  readonly fileBytes: number;
  /** Tensors drawn from a quantized pool rather than element by element. */
  readonly pooledTensors: number;
}

function archParts(hp: SynthHParams): { ggufArch: string; metadata: MetaEntry[]; tensors: TensorPlan[] } {
  switch (hp.family) {
    case 'llama':
      return { ggufArch: 'llama', metadata: llamaMetadata(hp), tensors: llamaTensors(hp) };
    case 'deepseek2':
      return { ggufArch: 'deepseek2', metadata: deepseek2Metadata(hp), tensors: deepseek2Tensors(hp) };
    case 'qwen2moe':
      return { ggufArch: 'qwen2moe', metadata: qwen2moeMetadata(hp), tensors: qwen2moeTensors(hp) };
    case 'qwen3moe':
      return { ggufArch: 'qwen3moe', metadata: qwen3moeMetadata(hp), tensors: qwen3moeTensors(hp) };
  }
}

/** Tensors, types and architecture metadata, without generating anything (cheap even for v2-lite-shape). */
export function planModel(opts: MakeModelOptions): ModelPlan {
  if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) throw new EngineError('bad_argument', `--seed must be a non-negative integer, got ${opts.seed}`);
  const hp = presetHParams(opts.arch, opts.preset, {
    ...(opts.qLora !== undefined ? { qLora: opts.qLora } : {}),
    ...(opts.mlaSplit !== undefined ? { mlaSplit: opts.mlaSplit } : {}),
  });
  const parts = archParts(hp);
  const plans: TensorPlan[] = [
    // Embedding rows of std 1: the first RMS norm sees unit-scale inputs whatever n_embd is.
    { name: 'token_embd.weight', dims: [hp.nEmbd, hp.nVocab], init: { mean: 0, std: 1 } }, // [n_embd, n_vocab]
    ...parts.tensors,
    norm('output_norm.weight', hp.nEmbd),
    matrix('output.weight', [hp.nEmbd, hp.nVocab]), // [n_embd, n_vocab], untied
  ];
  const choices = chooseTypes(plans, opts.quant, opts.overrides ?? [], {
    nLayer: hp.nLayer,
    nExpert: hp.nExpert,
    nGqa: hp.nHead / headCountKv(hp),
  });
  const tensors = plans.map((p, i): TensorReport => {
    const c = choices[i]!;
    return { name: p.name, dims: p.dims, type: c.type, bytes: tensorBytes(c.type, p.dims, p.name), ...(c.fallbackFrom !== undefined ? { fallbackFrom: c.fallbackFrom } : {}), ...(c.override !== undefined ? { override: c.override } : {}) };
  });
  const nParams = plans.reduce((a, p) => a + p.dims.reduce((x, d) => x * d, 1), 0);
  return { hp, ggufArch: parts.ggufArch, fileType: fileTypeOf(opts.quant), tensors, plans, archMetadata: parts.metadata, nParams };
}

// ggml's GGML_QNT_VERSION, written by llama-quantize as general.quantization_version.
const QNT_VERSION = 2;

/** Generates the model into `sink` (which is closed at the end) and reports what was written. */
export async function makeModel(opts: MakeModelOptions, sink: ByteSink, assets: SynthAssets): Promise<MakeModelReport> {
  const plan = planModel(opts);
  const { hp } = plan;
  const vocab = await loadVocab(hp.vocab, hp.nVocab, assets);
  const metadata: MetaEntry[] = [
    meta.str('general.architecture', plan.ggufArch),
    meta.str('general.type', 'model'),
    meta.str('general.name', `ktweb synthetic ${opts.arch} ${opts.preset}`),
    meta.str('general.description', `random weights from ktweb make-model (seed ${opts.seed}); not a trained model`),
    meta.u32('general.file_type', plan.fileType),
    meta.u32('general.quantization_version', QNT_VERSION),
    ...plan.archMetadata,
    ...vocabMetadata(vocab),
  ];
  const factory = new WeightFactory(opts.seed, opts.weights);
  let pooledTensors = 0;
  const tensors: TensorToWrite[] = plan.plans.map((p, i) => {
    const type = plan.tensors[i]!.type;
    if (factory.pooled(p, type)) pooledTensors++;
    return { name: p.name, dims: p.dims, type, data: factory.bytes(p, type) };
  });
  const fileBytes = await writeGGUF(sink, { metadata, tensors });
  return { plan, fileBytes, pooledTensors };
}
