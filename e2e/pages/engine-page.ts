// The engine worker as the pages use it, driven by Playwright: load a GGUF by URL with given placement options,
// answer one raw greedy completion, report the token ids, the backend and the engine's stats.
import { WorkerEngine } from '../../src/api/worker-engine.ts';
import type { EngineStats, ModelInfo } from '../../src/api/types.ts';
import type { WorkerLoadOptions } from '../../src/api/worker-protocol.ts';
import { isEngineError } from '../../src/core/errors.ts';

export interface EngineRun {
  readonly info?: ModelInfo;
  readonly ids?: number[];
  readonly stats?: EngineStats;
  readonly error?: string;
}

async function runEngine(url: string, opts: WorkerLoadOptions, prompt: string, maxTokens: number): Promise<EngineRun> {
  const worker = new Worker(new URL('../../src/workers/engine.worker.ts', import.meta.url), { type: 'module' });
  const engine = new WorkerEngine(worker);
  try {
    const info = await engine.load({ kind: 'url', url, name: url.split('/').pop()! }, opts, () => undefined);
    const ids: number[] = [];
    for await (const c of engine.chat.completions.create({ messages: [{ role: 'user', content: prompt }], raw: true, max_tokens: maxTokens, temperature: 0, stream: true })) ids.push(...(c.token_ids ?? []));
    return { info, ids, stats: await engine.stats() };
  } catch (e) {
    return { error: isEngineError(e) ? e.oneLine() : String(e) };
  } finally {
    worker.terminate();
  }
}

(window as unknown as { runEngine: typeof runEngine }).runEngine = runEngine;
