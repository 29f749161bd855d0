// Measures this machine's DRAM read bandwidth the way the CPU experts read weights: N threads each stream their
// own slice of one large shared buffer (well beyond the last-level cache) and sum it. The best of a few passes
// counts; the roofline of CPU-side decode is this bandwidth divided by the expert bytes one token reads.
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { buf, start, end, passes, ctl, threads } = workerData;
const a = new Float64Array(buf, start * 8, end - start);
const sync = new Int32Array(ctl);
let acc = 0;
for (let p = 0; p < passes; p++) {
  Atomics.add(sync, 0, 1);
  while (Atomics.load(sync, 0) < threads * (p + 1)) {} // a barrier: all threads start each pass together
  const t0 = performance.now();
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let i = 0; i + 3 < a.length; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
  acc += s0 + s1 + s2 + s3;
  parentPort.postMessage({ pass: p, ms: performance.now() - t0 });
}
parentPort.postMessage({ acc });
`;

/** GB/s (1e9 bytes) read by `threads` threads together over a buffer of `bytes`. */
export async function measureDramGBps(threads: number, bytes = 2 * 2 ** 30, passes = 4): Promise<number> {
  const n = Math.floor(bytes / 8 / threads) * threads;
  const buf = new SharedArrayBuffer(n * 8);
  new Float64Array(buf).fill(1); // touch every page before timing
  const ctl = new SharedArrayBuffer(4);
  const slice = n / threads;
  const perPass: number[][] = Array.from({ length: passes }, () => []);
  const workers = Array.from({ length: threads }, (_, t) => new Worker(WORKER, { eval: true, workerData: { buf, start: t * slice, end: (t + 1) * slice, passes, ctl, threads } }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.on('message', (m: { pass?: number; ms?: number; acc?: number }) => {
              if (m.acc !== undefined) resolve();
              else perPass[m.pass!]!.push(m.ms!);
            });
            w.on('error', reject);
          }),
      ),
    );
    return Math.max(...perPass.map((ms) => (n * 8) / (Math.max(...ms) / 1e3) / 1e9));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
