// Hyperparameters every architecture shares, read from GGUF metadata with llama.cpp's key names
// (`{arch}.block_count`, ...) and llama.cpp's defaults where a key is optional.
import { mdNumber, mdString, type Metadata } from '../gguf/metadata.ts';
import type { RopeMode, RopeParams } from '../graph/graph.ts';

export interface CommonHParams {
  readonly arch: string;
  readonly nLayer: number;
  readonly nEmbd: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly headDimK: number;
  readonly headDimV: number;
  readonly nFf: number;
  readonly nVocab: number;
  readonly eps: number;
  readonly nCtxTrain: number;
  readonly rope: RopeParams;
  readonly nExpert: number;
  readonly nExpertUsed: number;
}

export function readCommon(md: Metadata, file: string, ropeMode: RopeMode): CommonHParams {
  const arch = mdString(md, 'general.architecture', file);
  const k = (s: string): string => `${arch}.${s}`;
  const nEmbd = mdNumber(md, k('embedding_length'), file);
  const nHead = mdNumber(md, k('attention.head_count'), file);
  const headDimK = mdNumber(md, k('attention.key_length'), file, nEmbd / nHead);
  const tokens = md.get('tokenizer.ggml.tokens');
  const nVocab = mdNumber(md, k('vocab_size'), file, tokens !== undefined && typeof tokens.value === 'object' ? tokens.value.values.length : 0);
  const nCtxTrain = mdNumber(md, k('context_length'), file, 4096);
  const scalingType = mdString(md, k('rope.scaling.type'), file, 'none');
  const factor = mdNumber(md, k('rope.scaling.factor'), file, 0);
  const freqScale = scalingType !== 'none' && factor > 0 ? 1 / factor : 1;
  const rope: RopeParams = {
    nDims: mdNumber(md, k('rope.dimension_count'), file, headDimK),
    mode: ropeMode,
    freqBase: mdNumber(md, k('rope.freq_base'), file, 10000),
    freqScale,
    // llama.cpp: yarn_ext_factor < 0 (default) becomes 1 for YaRN models and 0 otherwise.
    extFactor: scalingType === 'yarn' ? 1 : 0,
    attnFactor: 1,
    betaFast: 32,
    betaSlow: 1,
    nCtxOrig: mdNumber(md, k('rope.scaling.original_context_length'), file, nCtxTrain),
  };
  return {
    arch,
    nLayer: mdNumber(md, k('block_count'), file),
    nEmbd,
    nHead,
    nHeadKv: mdNumber(md, k('attention.head_count_kv'), file, nHead),
    headDimK,
    headDimV: mdNumber(md, k('attention.value_length'), file, headDimK),
    nFf: mdNumber(md, k('feed_forward_length'), file, 0),
    nVocab,
    eps: mdNumber(md, k('attention.layer_norm_rms_epsilon'), file, 1e-5),
    nCtxTrain,
    rope,
    nExpert: mdNumber(md, k('expert_count'), file, 0),
    nExpertUsed: mdNumber(md, k('expert_used_count'), file, 0),
  };
}
