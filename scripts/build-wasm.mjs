#!/usr/bin/env node
// Builds the WASM kernels (wasm/src, wasm/include) into wasm/out/kernels-{scalar,simd128,relaxed}.wasm with
// Debian's clang-19 + lld-19 (DESIGN.md §6): freestanding wasm32, shared imported memory, compiled with
// `clang -c` and linked by wasm-ld directly, because clang's driver would run binaryen's wasm-opt, which
// corrupts relaxed-SIMD code. Incremental: objects are rebuilt only when a source or header is newer.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'wasm', 'src');
const out = join(root, 'wasm', 'out');
const CC = process.env.WE_CC ?? 'clang-19';
const LD = process.env.WE_LD ?? 'wasm-ld-19';

function need(tool, pkg) {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    console.error(`build-wasm: ${tool} not found; install it with: apt-get install -y ${pkg} (Debian bookworm: clang-19 lld-19)`);
    process.exit(2);
  }
}
need(CC, 'clang-19');
need(LD, 'lld-19');

const ISAS = {
  scalar: ['-DWE_ISA_SCALAR'],
  simd128: ['-DWE_ISA_SIMD128', '-msimd128'],
  relaxed: ['-DWE_ISA_RELAXED', '-msimd128', '-mrelaxed-simd'],
};
const CFLAGS = [
  '--target=wasm32',
  '-O3',
  '-std=c11',
  '-ffreestanding',
  '-nostdlib',
  '-fvisibility=hidden',
  // bit-exact float rounding with the TS references: no a*b+c contraction
  '-ffp-contract=off',
  '-matomics',
  '-mbulk-memory',
  '-Wall',
  '-Wextra',
  '-Werror',
];

function sources(dir) {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : e.endsWith('.c') ? [p] : [];
  });
}
function headers(dir) {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? headers(p) : e.endsWith('.h') ? [p] : [];
  });
}
// a changed header or a changed flag in this script rebuilds everything
const newestHeader = Math.max(...[...headers(src), ...headers(join(root, 'wasm', 'include')), fileURLToPath(import.meta.url)].map((h) => statSync(h).mtimeMs));
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : -1);

for (const [isa, flags] of Object.entries(ISAS)) {
  const objDir = join(out, 'obj', isa);
  const objs = [];
  for (const c of sources(src)) {
    const o = join(objDir, relative(src, c).replace(/\.c$/, '.o'));
    mkdirSync(dirname(o), { recursive: true });
    if (mtime(o) < Math.max(mtime(c), newestHeader)) {
      try {
        execFileSync(CC, [...CFLAGS, ...flags, '-c', c, '-o', o], { stdio: 'inherit' });
      } catch {
        console.error(`build-wasm: compiling ${relative(root, c)} for ${isa} failed`);
        process.exit(1);
      }
    }
    objs.push(o);
  }
  const wasm = join(out, `kernels-${isa}.wasm`);
  if (objs.some((o) => mtime(o) > mtime(wasm)) || mtime(wasm) < newestHeader) {
    execFileSync(LD, [
      '--no-entry',
      '--shared-memory',
      '--import-memory',
      '--max-memory=4294967296',
      '-z', 'stack-size=262144',
      // the caller creates the shared memory before instantiating, so the module's minimum must be known: 1 MiB
      '--initial-memory=1048576',
      '--export-dynamic',
      '--export=__stack_pointer',
      '--export=__heap_base',
      '-o', wasm,
      ...objs,
    ], { stdio: 'inherit' });
  }
  console.log(`build-wasm: ${relative(root, wasm)} (${statSync(wasm).size} bytes)`);
}

// --bench: the Memory64 comparison (wasm/bench/gemv.c over the relaxed-SIMD dot products, wasm32 and wasm64 from
// the same sources, single-threaded, no shared memory); scripts/bench-memory64.ts runs them.
if (process.argv.includes('--bench')) {
  const files = [...sources(join(src, 'quants')), join(src, 'type_traits.c'), join(src, 'math.c'), join(root, 'wasm', 'bench', 'gemv.c')];
  for (const target of ['wasm32', 'wasm64']) {
    const objDir = join(out, 'obj', `bench-${target}`);
    mkdirSync(objDir, { recursive: true });
    const objs = files.map((c) => {
      const o = join(objDir, relative(root, c).replace(/[\/]/g, '_').replace(/\.c$/, '.o'));
      const flags = CFLAGS.filter((f) => f !== '--target=wasm32' && f !== '-matomics');
      execFileSync(CC, [`--target=${target}`, ...flags, ...ISAS.relaxed, '-c', c, '-o', o], { stdio: 'inherit' });
      return o;
    });
    const wasm = join(out, `bench-gemv-${target}.wasm`);
    const mem = target === 'wasm64' ? ['-mwasm64', '--max-memory=8589934592'] : ['--max-memory=4294967296'];
    execFileSync(LD, [...mem, '--no-entry', '--export-dynamic', '--export=__heap_base', '--initial-memory=67108864', '-z', 'stack-size=262144', '-o', wasm, ...objs], { stdio: 'inherit' });
    console.log(`build-wasm: ${relative(root, wasm)} (${statSync(wasm).size} bytes)`);
  }
}
