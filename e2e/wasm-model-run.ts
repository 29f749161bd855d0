// Node side of the Chromium whole-model runs: opens e2e/wasm-model.html in Debian's Chromium, hands it the GGUF
// files as disk-backed Files (setInputFiles with paths: the page reads ranges, nothing is copied up front) and
// samples the memory of every Chromium process (all descendants of this Node process: browser, zygotes,
// renderer with its workers, GPU and utility processes) from /proc while the page works.
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Page } from 'playwright-core';
import { startBrowser } from './browser.ts';
import type { PageBenchOptions, PeerResult } from './wasm-model-page.ts';
import type { ModelBenchResult } from './wasm-model-bench.ts';

export interface ProcMemory {
  /** Sum of VmRSS (counts pages shared between the processes once per process). */
  readonly rss: number;
  /** Sum of Pss (shared pages divided among their sharers: the physical memory the processes account for). */
  readonly pss: number;
  readonly pids: number;
}

function kb(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Memory of every descendant process of `root` (not root itself). */
export function descendantsMemory(root = process.pid): ProcMemory {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // gone meanwhile
    }
  }
  let rss = 0;
  let pss = 0;
  let pids = 0;
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    stack.push(...(children.get(pid) ?? []));
    try {
      rss += kb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
      pss += kb(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
      pids++;
    } catch {
      // gone meanwhile
    }
  }
  return { rss, pss, pids };
}

export interface MemoryPeak {
  peakRss: number;
  peakPss: number;
  pids: number;
}

/** Samples descendantsMemory every `ms` until stopped; returns the peaks. */
export function memorySampler(ms = 200): { stop(): MemoryPeak; now(): ProcMemory } {
  const peak: MemoryPeak = { peakRss: 0, peakPss: 0, pids: 0 };
  const sample = (): ProcMemory => {
    const m = descendantsMemory();
    peak.peakRss = Math.max(peak.peakRss, m.rss);
    peak.peakPss = Math.max(peak.peakPss, m.pss);
    peak.pids = Math.max(peak.pids, m.pids);
    return m;
  };
  const timer = setInterval(sample, ms);
  return {
    now: sample,
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** Opens the model page with `files` picked; resolves to f's result and the browser's user agent. */
export async function withModelPage<T>(files: readonly string[], f: (page: Page) => Promise<T>): Promise<{ env: string; result: T }> {
  const b = await startBrowser();
  try {
    const page = await b.context.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') console.error(`page: ${m.text()}`);
    });
    await page.goto(`${b.baseURL}/e2e/wasm-model.html`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
    await page.setInputFiles('#files', [...files]);
    const env = await page.evaluate(() => navigator.userAgent);
    return { env, result: await f(page) };
  } finally {
    await b.close();
  }
}

export function pageKtweb(page: Page, o: PageBenchOptions): Promise<ModelBenchResult & { log: string[] }> {
  return page.evaluate((x) => window.wasmModel.ktweb(x), o);
}

export async function pageWllama(page: Page, o: PageBenchOptions): Promise<PeerResult> {
  try {
    return await page.evaluate((x) => window.wasmModel.wllama(x), o);
  } catch (e) {
    throw new Error(`wllama failed after: ${(await page.evaluate(() => window.wasmModel.log.join(' | ')))}: ${String(e).split('\n')[0]}`);
  }
}

/** One engine's prefill and decode speed on one model (Node or Chromium), as the CPU benchmarks record it. */
export interface ModelRow {
  readonly env: 'node' | 'chromium';
  readonly engine: string;
  readonly backend: string;
  readonly model: string;
  readonly threads: number;
  readonly promptTokens: number;
  readonly prefillTokensPerS: number;
  readonly decodeTokens: number;
  readonly decodeTokensPerS: number;
}

/** ktweb and wllama in one page, per file and thread count (scripts/bench-cpu-models.ts --browser). */
export async function browserModelBench(
  files: readonly string[],
  threadCounts: readonly number[],
  engines: readonly string[],
  o: { promptTokens: number; decodeTokens: number; reps: number },
  show: (r: ModelRow) => void,
): Promise<string> {
  const { env } = await withModelPage(files, async (page) => {
    for (let i = 0; i < files.length; i++) {
      for (const threads of threadCounts) {
        const opts: PageBenchOptions = { file: i, threads, ...o };
        const model = basename(files[i]!);
        if (engines.includes('ktweb')) {
          const r = await pageKtweb(page, opts);
          show({ env: 'chromium', engine: 'ktweb', backend: r.label, model, threads, promptTokens: o.promptTokens, prefillTokensPerS: r.prefillTokensPerS, decodeTokens: o.decodeTokens, decodeTokensPerS: r.decodeTokensPerS });
        }
        if (engines.includes('wllama')) {
          const r = await pageWllama(page, opts);
          show({ env: 'chromium', engine: 'wllama', backend: `${r.backend}, ${r.threads} threads`, model, threads, promptTokens: r.promptTokens, prefillTokensPerS: r.prefillTokensPerS, decodeTokens: o.decodeTokens, decodeTokensPerS: r.decodeTokensPerS });
        }
      }
    }
  });
  return env;
}
