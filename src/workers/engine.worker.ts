// Dedicated worker hosting the engine for the pages (UI thread never computes). Entry point only.
import * as Comlink from 'comlink';
import { EngineError } from '../core/errors.ts';
import { installErrorTransfer, type EngineWorkerApi } from '../api/worker-protocol.ts';
import { LocalEngine } from '../api/local-engine.ts';
import { modelSourceFromWorkerSource } from '../api/worker-sources.ts';
import { browserComputeDevices } from './browser-devices.ts';

// The shipped rule files, bundled as text so `extends:` resolves in the browser.
const RULES = import.meta.glob<string>('../../rules/*.yaml', { query: '?raw', import: 'default', eager: true });
function ruleText(name: string): string {
  const t = RULES[`../../rules/${name.split('/').pop() ?? name}`];
  if (t === undefined) throw new EngineError('rule_invalid', `rules file ${name} is not one of the shipped rule files`, { file: name });
  return t;
}

installErrorTransfer();
let engine = new LocalEngine({ readRule: (n) => Promise.resolve(ruleText(n)) });
let controller: AbortController | undefined;

const api: EngineWorkerApi = {
  async load(src, opts, onProgress) {
    // Devices are opened per load: the choice (auto/gpu/cpu) may change, and a lost GPU gets a fresh device.
    await engine.unload();
    engine = new LocalEngine({ devices: await browserComputeDevices(opts.device ?? 'auto'), readRule: (n) => Promise.resolve(ruleText(n)) });
    return engine.load(await modelSourceFromWorkerSource(src, (url) => fetch(url).then((r) => r.blob())), { ...opts, onProgress });
  },
  async stream(req, onChunk) {
    controller = new AbortController();
    for await (const c of engine.stream(req, controller.signal)) onChunk(c);
  },
  abort() {
    controller?.abort();
  },
  defaultRules() {
    const name = engine.defaultRules();
    return Promise.resolve({ name, text: ruleText(name) });
  },
  plan(name, text) {
    return engine.plan(name, text, (n) => Promise.resolve(ruleText(n)));
  },
  stats() {
    return Promise.resolve(engine.stats());
  },
};
Comlink.expose(api);
