// The ~1 GB Mixtral-style benchmark model of DESIGN.md §6 (24 layers, n_embd 1024, 8 experts top-2, n_ff 2816,
// stories260K's SentencePiece vocabulary), which no make-model preset has: make-model's own building blocks (the
// llama/mixtral tensor plan and metadata, llama.cpp's quant mix, the pooled weight factory, the GGUF writer) with
// these hyperparameters. Q4_0: ~0.97 GB; Q8_0: ~1.8 GB.
// Usage: npx tsx scripts/bench-moe-model.ts [--quant Q4_0|Q8_0] [--seed 1] OUT.gguf
import { parseArgs } from 'node:util';
import { tensorBytes, writeGGUF } from '../src/gguf/writer.ts';
import { llamaMetadata, llamaTensors } from '../src/models/synth/llama.ts';
import type { LlamaHParams } from '../src/models/synth/presets.ts';
import { chooseTypes, fileTypeOf, parseQuantMix, type QuantMix } from '../src/models/synth/quant-mix.ts';
import { matrix, meta, norm, type TensorPlan } from '../src/models/synth/spec.ts';
import { loadVocab, vocabMetadata } from '../src/models/synth/vocab.ts';
import { WeightFactory } from '../src/models/synth/weights.ts';
import { NodeFileSink, NodeFileSource } from '../src/storage/node-fs.ts';

export const BENCH_MOE: LlamaHParams = {
  arch: 'mixtral',
  preset: 'small',
  family: 'llama',
  vocab: 'stories-spm',
  nVocab: 512,
  nCtx: 4096,
  nEmbd: 1024,
  nLayer: 24,
  nHead: 16,
  nHeadKv: 4,
  headDim: 64,
  rmsEps: 1e-5,
  ropeBase: 1e6,
  nExpert: 8,
  nExpertUsed: 2,
  nFf: 2816,
};

const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../models/vocab/${n}`, import.meta.url).pathname) };

/** Writes the benchmark MoE at `quant` to `path`; returns the bytes written. */
export async function makeBenchMoe(path: string, quant: QuantMix, seed = 1): Promise<number> {
  const hp = BENCH_MOE;
  const plans: TensorPlan[] = [
    { name: 'token_embd.weight', dims: [hp.nEmbd, hp.nVocab], init: { mean: 0, std: 1 } },
    ...llamaTensors(hp),
    norm('output_norm.weight', hp.nEmbd),
    matrix('output.weight', [hp.nEmbd, hp.nVocab]),
  ];
  const types = chooseTypes(plans, quant, [], { nLayer: hp.nLayer, nExpert: hp.nExpert, nGqa: hp.nHead / hp.nHeadKv });
  const vocab = await loadVocab(hp.vocab, hp.nVocab, ASSETS);
  const metadata = [
    meta.str('general.architecture', 'llama'),
    meta.str('general.type', 'model'),
    meta.str('general.name', `ktweb bench MoE ${quant} (24x1024, 8 experts top-2)`),
    meta.str('general.description', `random weights (seed ${seed}); not a trained model`),
    meta.u32('general.file_type', fileTypeOf(quant)),
    meta.u32('general.quantization_version', 2),
    ...llamaMetadata(hp),
    ...vocabMetadata(vocab),
  ];
  const factory = new WeightFactory(seed);
  const tensors = plans.map((p, i) => {
    tensorBytes(types[i]!.type, p.dims, p.name); // validates the row length
    return { name: p.name, dims: p.dims, type: types[i]!.type, data: factory.bytes(p, types[i]!.type) };
  });
  return writeGGUF(await NodeFileSink.create(path), { metadata, tensors });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ options: { quant: { type: 'string', default: 'Q4_0' }, seed: { type: 'string', default: '1' } }, allowPositionals: true });
  const out = positionals[0] ?? `/tmp/bench-moe-${values.quant}.gguf`;
  const bytes = await makeBenchMoe(out, parseQuantMix(values.quant), Number(values.seed));
  console.log(`wrote ${out}: ${(bytes / 1e9).toFixed(2)} GB`);
}
