// The DeepSeek-V2-Lite-shaped model (~9.7 GB) hybrid in Node through the engine (LocalEngine, the CLI's path):
// routed experts on the CPU (WASM kernels, sharded over as many wasm32 memories as they need), everything else on
// WebGPU (Dawn; on this CPU-only machine Chromium's SwiftShader, so the GPU side is slow, not the point here),
// rules/deepseek-v2-lite.yaml. Reports load time, prefill/decode tokens/s, the memories, and the process's
// peak resident memory (VmHWM) against the weight bytes.
// Run with SwiftShader's Vulkan driver, as npm test does:
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
//   npx tsx scripts/run-v2lite-hybrid.ts [--gguf /tmp/v2lite.gguf] [--threads N] [--decode 8] [--json out.json]
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { LocalEngine } from '../src/api/local-engine.ts';
import { readRuleFile } from '../src/cli/rules-files.ts';
import { nodeComputeDevices } from '../src/cli/node-devices.ts';
import { nodeCpuExecutor, physicalCores } from '../src/cli/node-wasm.ts';
import { NodeFileSource } from '../src/storage/node-fs.ts';

const { values: a } = parseArgs({
  options: {
    gguf: { type: 'string', default: '/tmp/v2lite.gguf' },
    rules: { type: 'string', default: 'deepseek-v2-lite.yaml' },
    threads: { type: 'string' },
    decode: { type: 'string', default: '8' },
    ctx: { type: 'string', default: '256' },
    json: { type: 'string' },
  },
});

const status = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) * 1024;
const threads = a.threads !== undefined ? Number(a.threads) : physicalCores();
const devices = { ...(await nodeComputeDevices('gpu')), cpu: nodeCpuExecutor };
if (devices.gpu === undefined) throw new Error(`no WebGPU: ${devices.gpuMissing}`);
const engine = new LocalEngine({ devices, readRule: readRuleFile });
const t0 = performance.now();
let shown = 0;
const info = await engine.load(
  { first: await NodeFileSource.open(a.gguf) },
  {
    rules: a.rules,
    nCtx: Number(a.ctx),
    cpuThreads: threads,
    onProgress: (p) => {
      if (p.phase !== 'weights' || p.bytesDone - shown < 2 ** 30) return;
      shown = p.bytesDone;
      console.log(`loaded ${(p.bytesDone / 2 ** 30).toFixed(1)} of ${(p.bytesTotal / 2 ** 30).toFixed(1)} GiB [rss ${(status('VmRSS') / 2 ** 30).toFixed(2)} GiB]`);
    },
  },
);
const loadMs = performance.now() - t0;
const stats = engine.stats();
console.log(`loaded in ${(loadMs / 1000).toFixed(1)} s: ${JSON.stringify(stats ?? info).slice(0, 400)}`);
const r = await engine.complete({ messages: [{ role: 'user', content: 'Write one sentence about the sea.' }], max_tokens: Number(a.decode), temperature: 0, raw: true });
const hwm = status('VmHWM');
const weightBytes = [...(await import('../src/gguf/model.ts').then(async (m) => m.openGGUF(await NodeFileSource.open(a.gguf)))).tensors.values()].reduce((s, t) => s + t.info.nBytes, 0);
console.log(`prefill ${r.timings.prefill_tokens_per_s.toFixed(2)} tokens/s (${r.timings.prompt_tokens} tokens), decode ${r.timings.decode_tokens_per_s.toFixed(2)} tokens/s; tokens ${r.token_ids.join(' ')}`);
console.log(`weights ${(weightBytes / 1e9).toFixed(2)} GB; peak RSS ${(hwm / 1e9).toFixed(2)} GB (${(hwm / weightBytes).toFixed(3)}x)`);
await engine.unload();
const out = {
  machine: { cpu: cpus()[0]?.model, logicalCpus: cpus().length, memoryBytes: totalmem(), node: process.version, gpu: 'SwiftShader (Chromium build) through Dawn', note: 'shared VM (other agents running)' },
  model: a.gguf,
  rules: a.rules,
  threads,
  loadMs,
  timings: r.timings,
  tokens: r.token_ids,
  memory: { peakRssBytes: hwm, weightBytes, peakOverWeights: hwm / weightBytes },
};
if (a.json !== undefined) await writeFile(a.json, JSON.stringify(out, null, 2) + '\n');
process.exit(0);
