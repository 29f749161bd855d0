// The benchmark page end to end in Chromium, two quick runs (prompt lengths 8 and 32, 8 generated tokens, 1 repetition):
// 1. a tiny synthetic Mixtral (make-model, Q4_K_M) picked for the run, ktweb in each placement — hybrid (the model's
//    rules on the GPU device), all GPU, all CPU, each its own engine worker — at threads 1 and 2. SwiftShader is the
//    only WebGPU adapter here, so the page leaves the GPU placements off by default and says why; the test turns
//    them on. The all-GPU placement runs once (no CPU side); the hybrid rows carry the last decode step's GPU and CPU
//    times; the JSON export carries the table's numbers and those times. Screenshot: test-results/bench-page-moe.png.
// 2. the embedded stories260K, ktweb (all CPU, hybrid) beside wllama at 1 thread: both engines saw the same prompt
//    lengths. (wllama cannot run the random-weight MoE: its llama.cpp server code throws on the invalid UTF-8 that
//    random byte tokens make; the page says so in the row.) Screenshot: test-results/bench-page.png.
// In both, every row has finite positive prefill and decode tokens/s and the chart canvas has pixels. The kernel
// section has, for every ktweb load (placement × threads), a table of the decode step's kernels timed on the model's
// weights (finite positive GB/s, each kernel on the device its placement gives it, the per-run overhead stated) that
// the JSON export carries too; for wllama it says plainly that no per-kernel numbers are available.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowser, type BrowserEnv } from './browser.ts';

let env: BrowserEnv;
let tmp: string;
let model: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ktweb-bench-'));
  model = join(tmp, 'tiny-mixtral.gguf');
  await promisify(execFile)('node', ['bin/ktweb.mjs', 'make-model', '--arch', 'mixtral', '--preset', 'tiny', '--quant', 'Q4_K_M', '--seed', '3', model]);
  env = await startBrowser();
});
afterAll(async () => {
  await env?.close();
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

interface TableRow {
  engine: string;
  target: string;
  threads: number;
  prompt: number;
  promptTokens: number;
  prefill: number;
  decode: number;
}

interface ExportedRow {
  engine: string;
  target: string;
  threads_requested: number;
  prompt_target: number;
  prompt_tokens: number;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  samples: unknown[];
  last_step: { wall_ms: number; gpu_ms: number; cpu_ms: number; overlap_ms: number; segments: number } | null;
}

interface KernelRowData {
  op: string;
  device: string;
  type: string;
  bytes: string;
  us: string;
  gbps: string;
  calls: string;
}

interface KernelSection {
  title: string;
  text: string;
  rows: KernelRowData[];
}

interface ExportedKernelReport {
  label: string;
  threads_requested: number;
  kernels: { op: string; device: string; bytesPerCall: number; usPerCall: number; gbPerS: number; runOverheadUs: number }[] | null;
  note: string;
}

interface Exported {
  date: string;
  userAgent: string;
  hardwareConcurrency: number;
  crossOriginIsolated: boolean;
  environment: { webgpu: boolean; gpuAdapter: string | null; softwareGpu: boolean };
  model: { name: string; bytes: number };
  settings: { promptLengths: number[]; genTokens: number; repetitions: number; threads: number[]; targets: string[] };
  results: ExportedRow[];
  kernels: ExportedKernelReport[];
}

const LENGTHS = [8, 32];

/** Sets up one run on the page, runs it and returns the table's rows (numbers from the rows' data attributes). */
async function runBench(page: Page, targets: readonly string[], threads: readonly number[]): Promise<TableRow[]> {
  await page.fill('#prompt-lengths', LENGTHS.join(', '));
  await page.fill('#gen-tokens', '8');
  await page.fill('#repetitions', '1');
  await page.fill('#threads', threads.join(', '));
  for (const cb of await page.$$('#targets input[type=checkbox]:not([disabled])')) {
    if ((await cb.isChecked()) !== targets.includes(await cb.getAttribute('value') ?? '')) await cb.click();
  }
  await page.click('#run');
  await page.waitForFunction(() => document.body.dataset['state'] === 'running', undefined, { timeout: 10_000, polling: 50 });
  await page.waitForFunction(() => document.body.dataset['state'] !== 'running', undefined, { timeout: 300_000, polling: 250 });
  expect(await page.evaluate(() => document.body.dataset['state']), await page.locator('#status').innerText()).toBe('done');
  const rows: TableRow[] = await page.$$eval('#results tbody tr', (trs) =>
    trs.map((tr) => {
      const d = (tr as HTMLElement).dataset;
      return { engine: d['engine']!, target: d['target']!, threads: Number(d['threads']), prompt: Number(d['prompt']), promptTokens: Number(d['promptTokens']), prefill: Number(d['prefill']), decode: Number(d['decode']) };
    }),
  );
  for (const r of rows) {
    expect(Number.isFinite(r.prefill) && r.prefill > 0, `${r.target} prefill at ${r.prompt}: ${r.prefill}`).toBe(true);
    expect(Number.isFinite(r.decode) && r.decode > 0, `${r.target} decode at ${r.prompt}: ${r.decode}`).toBe(true);
  }
  // Same prompt text, same vocabulary: every engine and placement counts the same prompt tokens, and the
  // calibration hit the target.
  for (const len of LENGTHS) {
    const at = rows.filter((r) => r.prompt === len);
    expect(new Set(at.map((r) => r.promptTokens)).size, JSON.stringify(at)).toBe(1);
    expect(Math.abs(at[0]!.promptTokens - len)).toBeLessThanOrEqual(1);
  }
  // The chart drew something: count opaque pixels of the canvas.
  const painted = await page.$eval('#chart', (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return { n, total: data.length / 4 };
  });
  expect(painted.total).toBeGreaterThan(10_000);
  expect(painted.n).toBeGreaterThan(painted.total * 0.02);
  // Per-kernel GB/s: a table with numbers for every ktweb load; none for wllama, which says it has none.
  for (const sec of await kernelSections(page)) {
    if (sec.title.startsWith('ktweb')) {
      expect(sec.rows.length, sec.text).toBeGreaterThan(0);
      expect(sec.text).toMatch(/Per-run overhead, a trivial graph on the same executor .*: (GPU|CPU) [\d.]+ µs/);
      for (const k of sec.rows) {
        for (const v of [k.bytes, k.us, k.gbps, k.calls]) expect(Number.isFinite(Number(v)) && Number(v) > 0, `${sec.title}: ${JSON.stringify(k)}`).toBe(true);
      }
    } else {
      expect(sec.rows, sec.title).toEqual([]);
      expect(sec.text).toMatch(/Per-kernel GB\/s: not available for this backend \(wllama exposes no per-kernel timings\)/);
    }
  }
  return rows;
}

/** The kernel section per loaded engine: its title, text and the kernel table's rows (numbers from data-*). */
function kernelSections(page: Page): Promise<KernelSection[]> {
  return page.$$eval('#kernels .kernel-report', (secs) =>
    secs.map((sec) => ({
      title: sec.querySelector('h3')!.textContent!,
      text: (sec as HTMLElement).innerText,
      rows: [...sec.querySelectorAll('table.kernels tbody tr')].map((tr) => ({ ...(tr as HTMLElement).dataset }) as unknown as KernelRowData),
    })),
  );
}

/** Which ops ran on which device in one section, e.g. {"mul_mat:gpu", "moe_experts:cpu"}. */
const opsOn = (sec: KernelSection): Set<string> => new Set(sec.rows.map((r) => `${r.op}:${r.device}`));

async function exportJson(page: Page, rows: readonly TableRow[]): Promise<Exported> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  const json = JSON.parse(await readFile((await download.path())!, 'utf8')) as Exported;
  expect(Number.isNaN(Date.parse(json.date))).toBe(false);
  expect(json.userAgent).toMatch(/Chrome/);
  expect(json.hardwareConcurrency).toBeGreaterThan(0);
  expect(json.crossOriginIsolated).toBe(true);
  expect(json.environment).toMatchObject({ webgpu: true, softwareGpu: true });
  expect(json.settings).toMatchObject({ promptLengths: LENGTHS, genTokens: 8, repetitions: 1 });
  expect(json.results).toHaveLength(rows.length);
  for (const r of rows) {
    const j = json.results.find((x) => x.target === r.target && x.prompt_target === r.prompt && x.threads_requested === r.threads)!;
    expect(j.prefill_tokens_per_s).toBe(r.prefill);
    expect(j.decode_tokens_per_s).toBe(r.decode);
    expect(j.prompt_tokens).toBe(r.promptTokens);
    expect(j.samples).toHaveLength(1);
  }
  // The kernel tables, as the page drew them, are in the export (wllama: null with its note).
  const secs = await kernelSections(page);
  expect(json.kernels.map((k) => `${k.label}, ${k.threads_requested} thread${k.threads_requested === 1 ? '' : 's'}`)).toEqual(secs.map((s) => s.title));
  json.kernels.forEach((k, i) => {
    if (k.label.startsWith('wllama')) {
      expect(k.kernels).toBeNull();
      return;
    }
    expect(k.kernels?.map((x) => `${x.op}:${x.device}:${x.gbPerS}`)).toEqual(secs[i]!.rows.map((r) => `${r.op}:${r.device}:${r.gbps}`));
    for (const x of k.kernels!) expect(x.runOverheadUs).toBeGreaterThan(0);
  });
  return json;
}

describe('bench page', () => {
  it('measures ktweb per placement and thread count on a tiny MoE, and beside wllama on stories260K; chart, JSON export', { timeout: 600_000 }, async () => {
    const page = await env.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(env.baseURL) && !/^(blob|data):/.test(r.url())) external.push(r.url());
    });
    await page.goto(`${env.baseURL}/bench.html`);
    await page.waitForSelector('#target-wllama');
    // the model list fills once the OPFS store has opened
    await page.waitForSelector('#model-select option[value="builtin"]', { state: 'attached' });
    // wllama needs JSPI and Memory64; when either is missing the page says so and disables it (it is not here).
    expect(await page.locator('#target-wllama').isDisabled(), await page.locator('#target-notes').innerText()).toBe(false);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    // Only a software WebGPU adapter here: GPU placements available but off by default, and the page says why.
    expect(await page.locator('#env').innerText()).toMatch(/WebGPU: yes \(.*swiftshader.*, software\)/i);
    expect(await page.locator('#target-notes').innerText()).toMatch(/ktweb · hybrid, ktweb · all GPU: WebGPU here is a software adapter .*off by default/);
    for (const [id, on] of [['ktweb-hybrid', false], ['ktweb-all-gpu', false], ['ktweb-all-cpu', true]] as const) {
      expect(await page.locator(`#target-${id}`).isChecked(), id).toBe(on);
      expect(await page.locator(`#target-${id}`).isDisabled(), id).toBe(false);
    }

    // 1. The MoE, every ktweb placement, two thread counts.
    await page.setInputFiles('#file-input', model);
    expect(await page.locator('#model-select').inputValue()).toBe('picked');
    const THREADS = [1, 2];
    const moe = await runBench(page, ['ktweb-hybrid', 'ktweb-all-gpu', 'ktweb-all-cpu'], THREADS);
    const want = [...['ktweb-hybrid', 'ktweb-all-cpu'].flatMap((t) => THREADS.map((n) => `${t}:${n}`)), 'ktweb-all-gpu:1'].flatMap((k) => LENGTHS.map((l) => `${k}:${l}`));
    expect(moe.map((r) => `${r.target}:${r.threads}:${r.prompt}`).sort()).toEqual(want.sort());
    const tableText = await page.locator('#results').innerText();
    expect(tableText).toMatch(/hybrid: WebGPU \(.*\) \+ WASM (relaxed|simd128|scalar) ×2 threads/);
    expect(tableText).toMatch(/hybrid: mixtral\.yaml/);
    expect(tableText).toMatch(/all GPU: all-gpu\.yaml/);
    expect(tableText).toMatch(/WASM (relaxed|simd128|scalar) ×1 thread\s+all CPU: all-cpu\.yaml/);
    expect(tableText).toMatch(/1 → 0 \(GPU only\)/);
    // One kernel table per load: hybrid = matrices on the GPU, routed experts on the CPU; all GPU; all CPU.
    const secs = await kernelSections(page);
    expect(secs.map((s) => s.title).sort()).toEqual(['ktweb · all CPU, 1 thread', 'ktweb · all CPU, 2 threads', 'ktweb · all GPU, 1 thread', 'ktweb · hybrid, 1 thread', 'ktweb · hybrid, 2 threads']);
    for (const sec of secs) {
      const want = sec.title.includes('hybrid') ? ['mul_mat:gpu', 'moe_experts:cpu'] : sec.title.includes('all GPU') ? ['mul_mat:gpu', 'moe_experts:gpu'] : ['mul_mat:cpu', 'moe_experts:cpu'];
      expect(opsOn(sec), sec.title).toEqual(new Set(want));
      // Q4_K_M: Q4_K and Q6_K matrices, the router in F32
      expect(new Set(sec.rows.map((r) => r.type.split('/')[0]))).toEqual(new Set(['Q4_K', 'Q6_K', 'F32']));
    }
    expect(secs.find((s) => s.title === 'ktweb · all CPU, 1 thread')!.text).toMatch(/Memory after the runs: wasm memory 1 /);
    expect(secs.find((s) => s.title === 'ktweb · hybrid, 2 threads')!.text).toMatch(/GPU [\d.]+ µs \(WebGPU .*\); CPU [\d.]+ µs \(WASM \S+ ×2 threads\)/);
    // The hybrid placement's last decode step, by device; the one-device placements have none.
    const steps = await page.$$eval('#kernels table.steps tbody tr', (trs) => trs.map((tr) => ({ ...(tr as HTMLElement).dataset })));
    expect(steps.map((s) => s['target'])).toEqual(Array(THREADS.length * LENGTHS.length).fill('ktweb-hybrid'));
    for (const s of steps) {
      expect(Number(s['gpuMs'])).toBeGreaterThan(0);
      expect(Number(s['cpuMs'])).toBeGreaterThan(0);
    }
    await page.screenshot({ path: 'test-results/bench-page-moe.png', fullPage: true });
    const json = await exportJson(page, moe);
    expect(json.model).toEqual({ name: 'tiny-mixtral.gguf', bytes: (await stat(model)).size });
    expect(json.settings.threads).toEqual(THREADS);
    for (const j of json.results) {
      if (j.target === 'ktweb-hybrid') expect(j.last_step?.gpu_ms, JSON.stringify(j.last_step)).toBeGreaterThan(0);
      else expect(j.last_step).toBeNull();
    }

    // 2. stories260K: ktweb beside wllama, one thread.
    await page.selectOption('#model-select', 'builtin');
    const side = await runBench(page, ['ktweb-all-cpu', 'ktweb-hybrid', 'wllama'], [1]);
    expect(side.map((r) => `${r.target}:${r.prompt}`).sort()).toEqual(['ktweb-all-cpu:32', 'ktweb-all-cpu:8', 'ktweb-hybrid:32', 'ktweb-hybrid:8', 'wllama:32', 'wllama:8']);
    const sideText = await page.locator('#results').innerText();
    expect(sideText).toMatch(/llama\.cpp .*wasm64 CPU/);
    expect(sideText).toMatch(/hybrid: all-gpu\.yaml/); // a dense model's own rules put everything on the GPU
    expect(await page.locator('#method').innerText()).toMatch(/predicted_n − 1/);
    expect(await page.locator('#kernels').innerText()).toMatch(/wllama · CPU, 1 thread\n+Per-kernel GB\/s: not available for this backend/);
    await page.screenshot({ path: 'test-results/bench-page.png', fullPage: true });
    const json2 = await exportJson(page, side);
    expect(json2.model).toEqual({ name: 'stories260K.gguf', bytes: 1185376 });

    expect(external).toEqual([]); // wllama's wasm came from this server, not a CDN
    expect(errors).toEqual([]);
  });
});
