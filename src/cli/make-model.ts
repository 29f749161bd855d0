// `ktweb make-model --arch ARCH --preset P --quant Q --seed N OUT.gguf`: a synthetic random-weight GGUF with
// llama.cpp's tensor names and metadata and a real tokenizer (logic in models/synth; this file only wires files).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EngineError } from '../core/errors.ts';
import { ggmlTypeName } from '../core/ggml-type.ts';
import { makeModel, type MakeModelReport } from '../models/synth/make-model.ts';
import { QUANT_MIXES, parseQuantMix, parseTensorTypeOverride } from '../models/synth/quant-mix.ts';
import { SYNTH_ARCHS, SYNTH_PRESETS, type SynthArch, type SynthPreset } from '../models/synth/spec.ts';
import type { SynthAssets } from '../models/synth/vocab.ts';
import { NodeFileSink, NodeFileSource } from '../storage/node-fs.ts';
import { formatBytes, table } from './format.ts';

const VOCAB_DIR = fileURLToPath(new URL('../../models/vocab/', import.meta.url));

/** Vocab assets from the repository's models/vocab/ folder. */
export const repoAssets: SynthAssets = { open: (name) => NodeFileSource.open(join(VOCAB_DIR, name)) };

interface MakeModelFlags {
  arch: string;
  preset: string;
  quant: string;
  seed: string;
  tensorType: string[];
  qLora: boolean;
  mlaSplit?: boolean;
  json?: boolean;
}

function oneOf<T extends string>(flag: string, v: string, all: readonly T[]): T {
  const hit = all.find((a) => a === v);
  if (hit === undefined) throw new EngineError('bad_argument', `unknown ${flag} ${v}; one of ${all.join(', ')}`);
  return hit;
}

function parseSeed(s: string): number {
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new EngineError('bad_argument', `--seed must be a non-negative integer below 2^53, got ${s}`);
  return n;
}

function report(out: string, r: MakeModelReport, seconds: number): string {
  const p = r.plan;
  const lines = [
    `wrote ${out}: ${p.ggufArch} (${p.hp.arch}, preset ${p.hp.preset}), general.file_type ${p.fileType}, ${formatBytes(r.fileBytes)}, ` +
      `${p.tensors.length} tensors, ${(p.nParams / 1e6).toFixed(2)} M parameters, ${seconds.toFixed(1)} s` +
      (r.pooledTensors > 0 ? ` (${r.pooledTensors} big tensors assembled from quantized random pools)` : ''),
  ];
  const byType = new Map<number, { n: number; bytes: number }>();
  for (const t of p.tensors) {
    const e = byType.get(t.type) ?? { n: 0, bytes: 0 };
    byType.set(t.type, { n: e.n + 1, bytes: e.bytes + t.bytes });
  }
  lines.push(table(['type', 'tensors', 'bytes'], [...byType].map(([t, e]) => [ggmlTypeName(t), String(e.n), formatBytes(e.bytes)])));
  const fb = p.tensors.filter((t) => t.fallbackFrom !== undefined);
  if (fb.length > 0) {
    lines.push(`${fb.length} tensor(s) fell back as llama.cpp does (row length not a whole number of blocks):`);
    for (const t of fb) lines.push(`  ${t.name} [${t.dims.join(', ')}]: ${ggmlTypeName(t.fallbackFrom!)} -> ${ggmlTypeName(t.type)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerMakeModel(program: Command): void {
  program
    .command('make-model')
    .description('write a synthetic random-weight GGUF that llama.cpp loads (its tensor names, metadata and a real tokenizer)')
    .argument('<out>', 'output .gguf path')
    .requiredOption('--arch <arch>', SYNTH_ARCHS.join(' | '))
    .option('--preset <preset>', SYNTH_PRESETS.join(' | '), 'tiny')
    .option('--quant <mix>', QUANT_MIXES.join(' | '), 'Q4_K_M')
    .option('--seed <n>', 'PRNG seed; the same seed gives a byte-identical file', '1')
    .option('--tensor-type <regex=type>', 'override the type of tensors whose name matches (repeatable, first match wins)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--no-q-lora', 'deepseek2: no q compression (attn_q, as DeepSeek-V2-Lite)')
    .option('--mla-split', 'deepseek2: attn_k_b + attn_v_b (current convert_hf_to_gguf layout) instead of attn_kv_b')
    .option('--json', 'print the report as JSON')
    .action(async (out: string, f: MakeModelFlags) => {
      const opts = {
        arch: oneOf<SynthArch>('--arch', f.arch, SYNTH_ARCHS),
        preset: oneOf<SynthPreset>('--preset', f.preset, SYNTH_PRESETS),
        quant: parseQuantMix(f.quant),
        seed: parseSeed(f.seed),
        overrides: f.tensorType.map(parseTensorTypeOverride),
        ...(f.qLora ? {} : { qLora: false }),
        ...(f.mlaSplit === true ? { mlaSplit: true } : {}),
      };
      const t0 = performance.now();
      const sink = await NodeFileSink.create(out);
      let r: MakeModelReport;
      try {
        r = await makeModel(opts, sink, repoAssets);
      } catch (e) {
        await sink.close().catch(() => undefined);
        await rm(out, { force: true });
        throw e;
      }
      const seconds = (performance.now() - t0) / 1000;
      if (f.json === true) {
        const p = r.plan;
        const json = {
          file: out, arch: p.hp.arch, ggufArch: p.ggufArch, preset: p.hp.preset, quant: opts.quant, fileType: p.fileType, seed: opts.seed,
          bytes: r.fileBytes, params: p.nParams, seconds, pooledTensors: r.pooledTensors,
          tensors: p.tensors.map((t) => ({ name: t.name, dims: t.dims, type: ggmlTypeName(t.type), bytes: t.bytes, ...(t.fallbackFrom !== undefined ? { fallbackFrom: ggmlTypeName(t.fallbackFrom) } : {}), ...(t.override !== undefined ? { override: t.override } : {}) })),
        };
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      } else {
        process.stdout.write(report(out, r, seconds));
      }
    });
}
