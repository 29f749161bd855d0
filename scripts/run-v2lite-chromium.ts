// The DeepSeek-V2-Lite-shaped model (~9.7 GB) with every op on the CPU in headless Chromium: the page gets the GGUF
// as a disk-backed File, streams its tensors range by range into as many wasm memories as they need (module
// Workers per memory), prefills and greedy-decodes; meanwhile this script samples the memory of all Chromium
// processes from /proc (sum of VmRSS and of Pss over the browser's process tree) and reports the peak against
// the weight bytes (issue 5: peak ≤ 1.15× the weights).
// Usage: npx tsx scripts/run-v2lite-chromium.ts [--gguf /tmp/v2lite.gguf] [--threads 2] [--prompt 16] [--decode 16]
//        [--json bench/results/v2lite-cpu-chromium.json]
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { physicalCores } from '../src/cli/node-wasm.ts';
import { descendantsMemory, memorySampler, pageKtweb, withModelPage } from '../e2e/wasm-model-run.ts';
import { ensureKernelsBuilt } from '../tests/backends/wasm/build.ts';

const { values: a } = parseArgs({
  options: {
    gguf: { type: 'string', default: '/tmp/v2lite.gguf' },
    threads: { type: 'string' },
    prompt: { type: 'string', default: '16' },
    decode: { type: 'string', default: '16' },
    json: { type: 'string' },
  },
});

ensureKernelsBuilt();
const threads = a.threads !== undefined ? Number(a.threads) : physicalCores();
let mem: ReturnType<typeof memorySampler> | undefined;
let idle = { rss: 0, pss: 0, pids: 0 };
const { env, result } = await withModelPage([a.gguf], async (page) => {
  idle = descendantsMemory();
  mem = memorySampler(200);
  const progress = setInterval(() => {
    void page.evaluate(() => window.wasmModel.log.at(-1) ?? '').then((l) => l && console.log(`${l}  [chromium rss ${(mem!.now().rss / 2 ** 30).toFixed(2)} GiB]`), () => {});
  }, 5000);
  try {
    return await pageKtweb(page, { file: 0, threads, promptTokens: Number(a.prompt), decodeTokens: Number(a.decode), reps: 1 });
  } finally {
    clearInterval(progress);
  }
});
const peak = mem!.stop();
for (const l of result.log) console.log(l);
console.log(`${env}`);
console.log(`weights ${(result.weightBytes / 1e9).toFixed(2)} GB in ${result.shards} memories; Chromium peak: sum of RSS ${(peak.peakRss / 1e9).toFixed(2)} GB (${(peak.peakRss / result.weightBytes).toFixed(3)}x), sum of PSS ${(peak.peakPss / 1e9).toFixed(2)} GB (${(peak.peakPss / result.weightBytes).toFixed(3)}x), ${peak.pids} processes; idle before loading ${(idle.rss / 1e6).toFixed(0)} MB`);
console.log(`prefill ${result.prefillTokensPerS.toFixed(2)} tokens/s, decode ${result.decodeTokensPerS.toFixed(2)} tokens/s, greedy ${result.generated.join(' ')}`);
const out = {
  machine: { cpu: cpus()[0]?.model, logicalCpus: cpus().length, memoryBytes: totalmem(), browser: env, note: 'shared VM (other agents running)' },
  model: a.gguf,
  threads,
  result: { ...result, prompt: undefined, log: undefined },
  memory: { peakRssSumBytes: peak.peakRss, peakPssSumBytes: peak.peakPss, processes: peak.pids, idleRssSumBytes: idle.rss, peakRssOverWeights: peak.peakRss / result.weightBytes, peakPssOverWeights: peak.peakPss / result.weightBytes },
};
if (a.json !== undefined) await writeFile(a.json, JSON.stringify(out, null, 2) + '\n');
