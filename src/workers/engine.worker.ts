// Dedicated worker hosting the engine for the pages (UI thread never computes). Entry point only.
import * as Comlink from 'comlink';
import { EngineError } from '../core/errors.ts';
import { installErrorTransfer, type EngineWorkerApi, type GpuProbe, type LoadedRules } from '../api/worker-protocol.ts';
import { LocalEngine } from '../api/local-engine.ts';
import { modelSourceFromWorkerSource } from '../api/worker-sources.ts';
import { isSoftwareAdapter } from '../runtime/engine-executor.ts';
import { adapterDescription } from '../backends/webgpu/device.ts';
import { browserComputeDevices } from './browser-devices.ts';

// The shipped rule files, bundled as text so `extends:` resolves in the browser.
const RULES = import.meta.glob<string>('../../rules/*.yaml', { query: '?raw', import: 'default', eager: true });
const baseName = (p: string): string => p.split('/').pop() ?? p;
function ruleText(name: string): string {
  const t = RULES[`../../rules/${baseName(name)}`];
  if (t === undefined) throw new EngineError('rule_invalid', `rules file ${name} is not one of the shipped rule files`, { file: name });
  return t;
}

installErrorTransfer();
let engine = new LocalEngine({ readRule: (n) => Promise.resolve(ruleText(n)) });
let controller: AbortController | undefined;
// What the loaded model runs with: the page shows and edits exactly this, not the file it would pick by default.
let loaded: LoadedRules | undefined;

const api: EngineWorkerApi = {
  async load(src, opts, onProgress) {
    // Devices are opened per load: the choice (auto/gpu/cpu) may change, and a lost GPU gets a fresh device.
    loaded = undefined;
    await engine.unload();
    engine = new LocalEngine({ devices: await browserComputeDevices(opts.device ?? 'auto'), readRule: (n) => Promise.resolve(ruleText(n)) });
    const info = await engine.load(await modelSourceFromWorkerSource(src, (url) => fetch(url).then((r) => r.blob())), { ...opts, onProgress });
    loaded = { name: info.rules, text: opts.rulesText ?? ruleText(info.rules), edited: opts.rulesText !== undefined };
    return info;
  },
  async stream(req, onChunk) {
    controller = new AbortController();
    for await (const c of engine.stream(req, controller.signal)) onChunk(c);
  },
  abort() {
    controller?.abort();
  },
  async unload() {
    loaded = undefined;
    await engine.unload();
  },
  loadedRules() {
    if (loaded === undefined) return Promise.reject(new EngineError('bad_argument', 'no model is loaded; load one first'));
    return Promise.resolve(loaded);
  },
  ruleFiles() {
    return Promise.resolve(Object.keys(RULES).map(baseName).sort());
  },
  async probeGpu(): Promise<GpuProbe> {
    // The same adapter request and description as browser-devices.ts, so the page's note matches what `auto` does.
    const gpu = (navigator as WorkerNavigator & { gpu?: GPU }).gpu;
    if (gpu === undefined) return { webgpu: false, adapter: null, software: false };
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (a === null) return { webgpu: true, adapter: null, software: false };
    const adapter = adapterDescription(a.info);
    return { webgpu: true, adapter, software: isSoftwareAdapter(adapter) };
  },
  plan(name, text) {
    return engine.plan(name, text, (n) => Promise.resolve(ruleText(n)));
  },
  stats() {
    return Promise.resolve(engine.stats());
  },
  kernelBench(opts) {
    return engine.kernelBench(opts);
  },
};
Comlink.expose(api);
