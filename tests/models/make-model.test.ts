// `ktweb make-model`: every architecture variant x several quant mixes is written, read back with our reader
// (expected tensors, types, metadata) and run by llama.cpp (node-llama-cpp): it loads, evaluates with finite
// probabilities and greedy generation gives varied tokens. Plus determinism, sizes, plans and CLI errors.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';
import { EngineError } from '../../src/core/errors.ts';
import { GGMLType, ggmlTypeName } from '../../src/core/ggml-type.ts';
import { mdNumber, mdString } from '../../src/gguf/metadata.ts';
import { openGGUF, type GGUFModel } from '../../src/gguf/model.ts';
import { makeModel, planModel, type MakeModelOptions } from '../../src/models/synth/make-model.ts';
import { parseTensorTypeOverride, type QuantMix } from '../../src/models/synth/quant-mix.ts';
import type { SynthArch } from '../../src/models/synth/spec.ts';
import { bpePrefix, type SynthAssets } from '../../src/models/synth/vocab.ts';
import { MemorySink } from '../../src/storage/memory-source.ts';
import { NodeFileSink, NodeFileSource } from '../../src/storage/node-fs.ts';

const run = promisify(execFile);
const VOCAB_DIR = new URL('../../models/vocab/', import.meta.url).pathname;
const assets: SynthAssets = { open: (n) => NodeFileSource.open(join(VOCAB_DIR, n)) };
const dir = mkdtempSync(join(tmpdir(), 'ktweb-make-model-'));
const TWO_MIB = 2 * 1024 * 1024;

let llama: Llama;
beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
});
afterAll(async () => {
  await llama.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface Variant {
  readonly label: string;
  readonly arch: SynthArch;
  readonly qLora?: boolean;
  readonly mlaSplit?: boolean;
  /** Names that must exist (layer 1 is MoE in every MoE variant). */
  readonly names: readonly string[];
}

const VARIANTS: readonly Variant[] = [
  { label: 'llama', arch: 'llama', names: ['blk.1.attn_k.weight', 'blk.1.ffn_gate.weight', 'blk.1.ffn_down.weight'] },
  { label: 'mixtral', arch: 'mixtral', names: ['blk.1.ffn_gate_inp.weight', 'blk.1.ffn_gate_exps.weight', 'blk.1.ffn_down_exps.weight'] },
  {
    label: 'deepseek2',
    arch: 'deepseek2',
    names: ['blk.0.ffn_gate.weight', 'blk.1.attn_q_a.weight', 'blk.1.attn_q_a_norm.weight', 'blk.1.attn_q_b.weight', 'blk.1.attn_kv_a_mqa.weight', 'blk.1.attn_kv_a_norm.weight', 'blk.1.attn_kv_b.weight', 'blk.1.ffn_gate_inp.weight', 'blk.1.ffn_up_exps.weight', 'blk.1.ffn_down_shexp.weight'],
  },
  { label: 'deepseek2 --no-q-lora', arch: 'deepseek2', qLora: false, names: ['blk.1.attn_q.weight', 'blk.1.attn_kv_b.weight'] },
  { label: 'deepseek2 --mla-split', arch: 'deepseek2', mlaSplit: true, names: ['blk.1.attn_k_b.weight', 'blk.1.attn_v_b.weight', 'blk.1.attn_q_b.weight'] },
  { label: 'deepseek2-v3', arch: 'deepseek2-v3', names: ['blk.1.exp_probs_b.bias', 'blk.1.attn_q_b.weight', 'blk.1.ffn_gate_shexp.weight'] },
  { label: 'qwen2moe', arch: 'qwen2moe', names: ['blk.1.attn_q.bias', 'blk.1.attn_v.bias', 'blk.1.ffn_gate_inp_shexp.weight', 'blk.1.ffn_up_shexp.weight', 'blk.1.ffn_down_exps.weight'] },
  { label: 'qwen3moe', arch: 'qwen3moe', names: ['blk.1.attn_q_norm.weight', 'blk.1.attn_k_norm.weight', 'blk.1.ffn_gate_exps.weight'] },
];

// One override list per architecture family that lands every one of Q2_K, Q3_K, Q5_K, Q4_1, Q5_1, BF16 (and
// IQ4_NL where there are shared experts) on some tensor.
function overridesFor(arch: SynthArch): string[] {
  const shexp = arch === 'deepseek2' || arch === 'deepseek2-v3' || arch === 'qwen2moe' ? ['shexp=iq4_nl'] : [];
  return ['^token_embd\\.weight$=bf16', '^output\\.weight$=q5_K', ...shexp, 'ffn_(gate|up)(_exps)?\\.weight=q2_K', 'ffn_down=q3_K', 'attn_output=q5_1', 'attn_=q4_1'];
}

interface Mix {
  readonly label: string;
  readonly quant: QuantMix;
  readonly overrides: boolean;
}
const MIXES: readonly Mix[] = [
  { label: 'F32', quant: 'F32', overrides: false },
  { label: 'Q8_0', quant: 'Q8_0', overrides: false },
  { label: 'Q4_K_M', quant: 'Q4_K_M', overrides: false },
  { label: 'IQ4_XS', quant: 'IQ4_XS', overrides: false },
  { label: 'Q4_K_M + overrides', quant: 'Q4_K_M', overrides: true },
];

function optionsOf(v: Variant, m: Mix, seed = 1): MakeModelOptions {
  return {
    arch: v.arch,
    preset: 'tiny',
    quant: m.quant,
    seed,
    overrides: m.overrides ? overridesFor(v.arch).map(parseTensorTypeOverride) : [],
    ...(v.qLora !== undefined ? { qLora: v.qLora } : {}),
    ...(v.mlaSplit !== undefined ? { mlaSplit: v.mlaSplit } : {}),
  };
}

async function writeModel(opts: MakeModelOptions, name: string): Promise<string> {
  const path = join(dir, name);
  await makeModel(opts, await NodeFileSink.create(path), assets);
  return path;
}

function typeOf(m: GGUFModel, name: string): string {
  return ggmlTypeName(m.tensor(name).info.type);
}

/** llama.cpp loads the file, gives finite next-token probabilities and a greedy continuation that varies. */
async function runInLlamaCpp(path: string, nVocab: number): Promise<number[]> {
  const model = await llama.loadModel({ modelPath: path });
  try {
    const ctx = await model.createContext({ contextSize: 128, threads: 1 });
    try {
      const seq = ctx.getSequence();
      const prompt = model.tokenize('Hello world, once upon a time');
      expect(prompt.length).toBeGreaterThan(3);
      const res = await seq.controlledEvaluate([...prompt.slice(0, -1), [prompt[prompt.length - 1]!, { generateNext: { probabilities: true } }]]);
      const probs = res[res.length - 1]?.next.probabilities;
      expect(probs).toBeDefined();
      let sum = 0;
      for (const [tok, p] of probs!) {
        expect(Number.isFinite(p)).toBe(true);
        expect(tok).toBeLessThan(nVocab);
        sum += p;
      }
      expect(sum).toBeCloseTo(1, 2);
      const out: number[] = [];
      for await (const t of seq.evaluate([prompt[prompt.length - 1]!], { temperature: 0 })) {
        out.push(t);
        if (out.length >= 12) break;
      }
      return out;
    } finally {
      await ctx.dispose();
    }
  } finally {
    await model.dispose();
  }
}

describe('make-model tiny: every architecture x mix loads in llama.cpp', () => {
  for (const v of VARIANTS) {
    for (const m of MIXES) {
      it(`${v.label} ${m.label}`, async () => {
        const opts = optionsOf(v, m);
        const plan = planModel(opts);
        const path = await writeModel(opts, `${v.label.replace(/[ -]+/g, '_')}-${m.label.replace(/[ +]+/g, '_')}.gguf`);
        const size = statSync(path).size;
        if (m.quant !== 'F32' && m.quant !== 'Q8_0') expect(size).toBeLessThan(TWO_MIB);

        const g = await openGGUF(await NodeFileSource.open(path));
        try {
          expect([...g.tensors.keys()].sort()).toEqual(plan.tensors.map((t) => t.name).sort());
          for (const t of plan.tensors) {
            expect(g.tensor(t.name).info.type, t.name).toBe(t.type);
            expect(g.tensor(t.name).info.dims, t.name).toEqual(t.dims);
          }
          for (const n of [...v.names, 'token_embd.weight', 'output.weight', 'output_norm.weight']) expect(g.tensors.has(n), n).toBe(true);
          expect(mdString(g.metadata, 'general.architecture', path)).toBe(plan.ggufArch);
          expect(mdNumber(g.metadata, 'general.file_type', path)).toBe(plan.fileType);
          // Norms, biases, exp_probs_b and the router stay F32 in every mix.
          for (const [name, ref] of g.tensors) {
            if (ref.info.dims.length === 1 || name.includes('ffn_gate_inp.weight')) expect(typeOf(g, name), name).toBe('F32');
          }
          if (m.quant === 'F32') for (const [name] of g.tensors) expect(typeOf(g, name)).toBe('F32');
          if (m.quant === 'Q8_0' && !m.overrides) expect(typeOf(g, 'output.weight')).toBe('Q8_0');
          if (m.quant === 'Q4_K_M' && !m.overrides) {
            expect(typeOf(g, 'output.weight')).toBe('Q6_K');
            expect(typeOf(g, 'token_embd.weight')).toBe('Q4_K');
            // use_more_bits(1, 2) is true: the last layer's ffn_down gets Q6_K.
            expect(typeOf(g, v.arch === 'llama' ? 'blk.1.ffn_down.weight' : 'blk.1.ffn_down_exps.weight')).toBe('Q6_K');
          }
          if (m.overrides) {
            const types = new Set([...g.tensors.values()].map((r) => ggmlTypeName(r.info.type)));
            const wanted = ['BF16', 'Q5_K', 'Q2_K', 'Q3_K', 'Q5_1', 'Q4_1', ...(overridesFor(v.arch).includes('shexp=iq4_nl') ? ['IQ4_NL'] : [])];
            for (const want of wanted) expect(types.has(want), want).toBe(true);
          }
        } finally {
          await g.close();
        }

        const gen = await runInLlamaCpp(path, plan.hp.nVocab);
        expect(new Set(gen).size).toBeGreaterThan(2);
      });
    }
  }

  it('the remaining mixes (F16, Q4_0, Q5_K_M) load too', async () => {
    const cases: [Variant, QuantMix][] = [
      [VARIANTS[0]!, 'F16'],
      [VARIANTS[6]!, 'Q4_0'],
      [{ label: 'v3 split no-q-lora', arch: 'deepseek2-v3', qLora: false, mlaSplit: true, names: ['blk.1.attn_q.weight', 'blk.1.attn_k_b.weight'] }, 'Q5_K_M'],
    ];
    for (const [v, q] of cases) {
      const path = await writeModel(optionsOf(v, { label: q, quant: q, overrides: false }), `extra-${v.arch}-${q}.gguf`);
      const g = await openGGUF(await NodeFileSource.open(path));
      for (const n of v.names) expect(g.tensors.has(n), n).toBe(true);
      await g.close();
      expect(new Set(await runInLlamaCpp(path, 512)).size).toBeGreaterThan(2);
    }
  });
});

describe('llama.cpp type rules and fallbacks', () => {
  it('Q4_K_M on deepseek2: attn_kv_b alternates by use_more_bits, 8 experts bump attn_kv_b/attn_output', () => {
    const t = (o: MakeModelOptions) => new Map(planModel(o).tensors.map((x) => [x.name, ggmlTypeName(x.type)]));
    const v2 = t({ arch: 'deepseek2', preset: 'tiny', quant: 'Q4_K_M', seed: 1 });
    expect(v2.get('blk.0.attn_kv_b.weight')).toBe('Q4_K');
    expect(v2.get('blk.1.attn_kv_b.weight')).toBe('Q6_K');
    expect(v2.get('blk.0.ffn_down.weight')).toBe('Q4_K');
    expect(v2.get('blk.1.ffn_down_shexp.weight')).toBe('Q6_K');
    const v3 = t({ arch: 'deepseek2-v3', preset: 'tiny', quant: 'Q4_K_M', seed: 1 });
    expect(v3.get('blk.0.attn_kv_b.weight')).toBe('Q8_0');
    expect(v3.get('blk.1.attn_output.weight')).toBe('Q5_K');
    const q3 = t({ arch: 'qwen3moe', preset: 'tiny', quant: 'IQ4_XS', seed: 1 });
    expect(q3.get('blk.0.attn_v.weight')).toBe('IQ4_XS'); // n_gqa 2 < 4
    expect(q3.get('blk.1.ffn_down_exps.weight')).toBe('IQ4_XS');
  });

  it('attn_k_b rows of qk_nope fall back like llama.cpp (Q4_K -> Q5_0, IQ4_XS -> IQ4_NL)', () => {
    for (const [q, want] of [['Q4_K_M', 'Q5_0'], ['IQ4_XS', 'IQ4_NL'], ['Q5_K_M', 'Q5_1']] as const) {
      const k = planModel({ arch: 'deepseek2', preset: 'tiny', quant: q, seed: 1, mlaSplit: true }).tensors.find((x) => x.name === 'blk.0.attn_k_b.weight')!;
      expect(ggmlTypeName(k.type)).toBe(want);
      expect(k.fallbackFrom).toBeDefined();
    }
  });

  it('v2-lite-shape plans DeepSeek-V2-Lite exactly (no generation) with llama.cpp fallbacks for 1408 and 10944', () => {
    const p = planModel({ arch: 'deepseek2', preset: 'v2-lite-shape', quant: 'Q4_K_M', seed: 1 });
    const by = new Map(p.tensors.map((x) => [x.name, x]));
    // 3 global + dense layer 0 (7 attention/norm + 3 FFN) + 26 MoE layers (7 + router, 3 experts, 3 shared).
    expect(p.tensors.length).toBe(3 + 10 + 26 * 14);
    expect(by.get('blk.0.ffn_down.weight')!.dims).toEqual([10944, 2048]);
    expect(by.get('blk.5.ffn_gate_exps.weight')!.dims).toEqual([2048, 1408, 64]);
    expect(by.get('blk.5.ffn_down_shexp.weight')!.dims).toEqual([2816, 2048]);
    expect(by.get('blk.5.attn_q.weight')!.dims).toEqual([2048, 16 * 192]);
    expect(by.get('blk.5.attn_kv_a_mqa.weight')!.dims).toEqual([2048, 576]);
    expect(by.get('blk.5.attn_kv_b.weight')!.dims).toEqual([512, 16 * 256]);
    expect(by.has('blk.5.attn_q_a.weight')).toBe(false);
    const down = by.get('blk.5.ffn_down_exps.weight')!;
    expect(down.dims).toEqual([1408, 2048, 64]);
    expect(down.fallbackFrom).toBeDefined();
    expect(['Q5_0', 'Q8_0']).toContain(ggmlTypeName(down.type));
    expect(p.nParams).toBeGreaterThan(15.5e9);
    expect(p.nParams).toBeLessThan(16e9);
    const bytes = p.tensors.reduce((a, x) => a + x.bytes, 0);
    expect(bytes / 2 ** 30).toBeGreaterThan(8);
    expect(bytes / 2 ** 30).toBeLessThan(11);
  });
});

describe('determinism, pools, vocab', () => {
  async function hash(opts: MakeModelOptions): Promise<string> {
    const sink = new MemorySink();
    await makeModel(opts, sink, assets);
    return createHash('sha256').update(sink.bytes()).digest('hex');
  }

  it('same seed -> same bytes; another seed -> different bytes', async () => {
    const o: MakeModelOptions = { arch: 'deepseek2-v3', preset: 'tiny', quant: 'Q4_K_M', seed: 7 };
    const a = await hash(o);
    expect(await hash(o)).toBe(a);
    expect(await hash({ ...o, seed: 8 })).not.toBe(a);
  });

  it('pooled tensors (the path big models take) are deterministic and load in llama.cpp', async () => {
    const o: MakeModelOptions = { arch: 'qwen2moe', preset: 'tiny', quant: 'Q4_K_M', seed: 3, weights: { poolThreshold: 0, poolElements: 1 << 14 } };
    expect(await hash(o)).toBe(await hash(o));
    const path = await writeModel(o, 'pooled.gguf');
    expect(new Set(await runInLlamaCpp(path, 512)).size).toBeGreaterThan(2);
  });

  it('the derived BPE vocab round-trips text through llama.cpp', async () => {
    const path = await writeModel({ arch: 'deepseek2', preset: 'tiny', quant: 'Q4_0', seed: 1 }, 'vocab.gguf');
    const model = await llama.loadModel({ modelPath: path });
    try {
      const text = 'The quick brown fox, 42 times!';
      const toks = model.tokenize(text);
      expect(toks.length).toBeLessThan(text.length); // merges are in use, not only bytes
      expect(model.detokenize(toks)).toBe(text);
      expect(model.tokens.bos).toBe(510);
      expect(model.detokenize([model.tokens.eos as Token], true)).toBe('<｜end▁of▁sentence｜>');
    } finally {
      await model.dispose();
    }
  });

  it('a merge list whose prefix is not self-consistent is refused', () => {
    expect(() => bpePrefix({ pre: 'x', bytes: ['a', 'b'], merges: ['a b', 'ab c'] }, 4)).toThrow(EngineError);
  });
});

describe('argument errors', () => {
  it('bad --tensor-type values are typed errors', () => {
    expect(() => parseTensorTypeOverride('ffn_down=q8_K')).toThrow(/activation-only/);
    expect(() => parseTensorTypeOverride('ffn_down=q8_1')).toThrow(/activation-only/);
    expect(() => parseTensorTypeOverride('ffn_down=iq2_xxs')).toThrow(/cannot encode/);
    expect(() => parseTensorTypeOverride('ffn_down=q9_K')).toThrow(/unknown type/);
    expect(() => parseTensorTypeOverride('ffn_down')).toThrow(EngineError);
    expect(() => parseTensorTypeOverride('(=q4_0')).toThrow(/regular expression/);
    expect(parseTensorTypeOverride('a=b=Q6_K').type).toBe(GGMLType.Q6_K);
    expect(() => planModel({ arch: 'llama', preset: 'tiny', quant: 'Q4_0', seed: 1, overrides: [parseTensorTypeOverride('shexp=q4_0')] })).toThrow(/matches no quantizable tensor/);
  });

  it('v2-lite-shape is only for deepseek2', () => {
    expect(() => planModel({ arch: 'qwen3moe', preset: 'v2-lite-shape', quant: 'Q4_0', seed: 1 })).toThrow(/only for --arch deepseek2/);
    expect(() => planModel({ arch: 'deepseek2-v3', preset: 'v2-lite-shape', quant: 'Q4_0', seed: 1 })).toThrow(/only for --arch deepseek2/);
    expect(() => planModel({ arch: 'llama', preset: 'tiny', quant: 'Q4_0', seed: 1, mlaSplit: true })).toThrow(EngineError);
  });

  it('CLI: unknown arch exits 2 with one line on stderr; a good run reports fallbacks', async () => {
    const bin = new URL('../../bin/ktweb.mjs', import.meta.url).pathname;
    const bad = await run('node', [bin, 'make-model', '--arch', 'nope', '--preset', 'tiny', '--quant', 'Q4_K_M', '--seed', '1', join(dir, 'x.gguf')]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/bad_argument.*--arch nope/);

    const out = join(dir, 'cli.gguf');
    const ok = await run('node', [bin, 'make-model', '--arch', 'deepseek2', '--mla-split', '--preset', 'tiny', '--quant', 'Q4_K_M', '--seed', '1', out]);
    expect(ok.stdout).toMatch(/wrote .*cli\.gguf: deepseek2/);
    expect(ok.stdout).toMatch(/attn_k_b\.weight \[64, 256, 2\]: Q4_K -> Q5_0/);
    expect(readFileSync(out).subarray(0, 4).toString('latin1')).toBe('GGUF');
  });
});
