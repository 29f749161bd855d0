// Native reference for the per-thread kernel benchmark: builds wasm/bench/native-gemv.c (gcc or clang) and runs
// llama.cpp's own dot products from node-llama-cpp's CPU backend builds (haswell = AVX2, zen4 = AVX-512, or the
// local native build) over the same decode GEMV as scripts/bench-wasm.ts (same k, same weight size, rows tiled
// from 64 rows quantized by ktweb's ggml-exact quantizers), one thread. --json writes the rows.
// Usage: npx tsx scripts/bench-native.ts [--variants haswell,zen4] [--mb 256] [--k 4096] [--types q4_0,q8_0] [--json out.json]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ggmlTypeName, parseGGMLType } from '../src/core/ggml-type.ts';
import { quantize } from '../src/quant/registry.ts';
import { WEIGHT_TYPES } from '../tests/conformance/cases.ts';

const { values: a } = parseArgs({
  options: {
    variants: { type: 'string', default: 'haswell,zen4' },
    mb: { type: 'string', default: '256' },
    k: { type: 'string', default: '4096' },
    reps: { type: 'string', default: '15' },
    types: { type: 'string' },
    json: { type: 'string' },
  },
});

const root = fileURLToPath(new URL('..', import.meta.url));
const LIBS: Record<string, string> = {
  haswell: join(root, 'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-cpu-haswell.so'),
  zen4: join(root, 'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-cpu-zen4.so'),
  native: join(root, 'node_modules/node-llama-cpp/llama/localBuilds/linux-x64/Release/libggml-cpu.so'),
};

export interface NativeRow {
  readonly variant: string;
  readonly type: string;
  readonly bytes: number;
  readonly ms: number;
  readonly gbs: number;
}

const dir = mkdtempSync(join(tmpdir(), 'ktweb-native-'));
const exe = join(dir, 'native-gemv');
execFileSync(process.env['CC'] ?? 'gcc', ['-O2', '-o', exe, join(root, 'wasm/bench/native-gemv.c'), '-ldl'], { stdio: 'inherit' });
const k = Number(a.k);
const types = a.types !== undefined ? a.types.split(',').map((t) => parseGGMLType(t)!) : [...WEIGHT_TYPES];
const rows: NativeRow[] = [];
for (const type of types) {
  const tile = join(dir, `tile-${type}.bin`);
  const x = Float32Array.from({ length: 64 * k }, () => (Math.random() + Math.random() + Math.random() - 1.5) * 0.5);
  writeFileSync(tile, quantize(type, x));
  for (const variant of a.variants.split(',')) {
    const lib = LIBS[variant] ?? variant;
    if (!existsSync(lib)) {
      console.log(`${variant}: ${lib} not found`);
      continue;
    }
    // libggml-cpu-*.so links libggml-base.so from its own directory
    const env = { ...process.env, LD_LIBRARY_PATH: join(lib, '..') };
    const [, bytes, ms, gbs] = execFileSync(exe, [lib, String(type), String(k), a.mb, a.reps, tile], { env }).toString().trim().split(' ').map(Number) as [number, number, number, number];
    const r = { variant, type: ggmlTypeName(type), bytes, ms, gbs };
    rows.push(r);
    console.log(`${variant.padEnd(8)} ${r.type.padEnd(7)} ${(bytes / 2 ** 20).toFixed(0).padStart(5)} MiB ${ms.toFixed(2).padStart(8)} ms ${gbs.toFixed(2).padStart(7)} GB/s`);
  }
}
if (a.json !== undefined) await writeFile(a.json, JSON.stringify({ k, mb: Number(a.mb), rows }, null, 2) + '\n');
