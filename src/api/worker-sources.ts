// Turns what the page sent (picked or stored Files, or a URL for the built-in model) into a ModelSource: the
// GGUF (first shard) and its sibling shards as BlobSources, HF JSON files parsed.
import { EngineError } from '../core/errors.ts';
import { BlobSource } from '../storage/blob-source.ts';
import type { ModelSource } from './local-engine.ts';
import type { WorkerModelSource } from './worker-protocol.ts';

const HF_FILES = { 'config.json': 'config', 'tokenizer.json': 'tokenizerJson', 'tokenizer_config.json': 'tokenizerConfig', 'generation_config.json': 'generationConfig' } as const;

export async function modelSourceFromWorkerSource(src: WorkerModelSource, fetchBlob: (url: string) => Promise<Blob>): Promise<ModelSource> {
  if (src.kind === 'url') return { first: new BlobSource(await fetchBlob(src.url), src.name) };
  const ggufs = src.files.filter((f) => f.name.endsWith('.gguf')).sort((a, b) => a.name.localeCompare(b.name));
  const first = ggufs[0];
  if (first === undefined) throw new EngineError('bad_argument', 'no .gguf file among the chosen files; pick the model file (all parts of a split model)');
  const out: Record<string, unknown> = {};
  for (const f of src.files) {
    const key = HF_FILES[f.name as keyof typeof HF_FILES];
    if (key === undefined) continue;
    try {
      out[key] = JSON.parse(await f.text()) as unknown;
    } catch (e) {
      throw new EngineError('bad_argument', `${f.name} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, { file: f.name });
    }
  }
  const byName = new Map(ggufs.map((f) => [f.name, f]));
  return {
    first: new BlobSource(first),
    openShard: (name) => {
      const f = byName.get(name.split('/').pop() ?? name);
      if (f === undefined) return Promise.reject(new EngineError('bad_argument', `${name} is part of this split model; choose it too`, { file: name }));
      return Promise.resolve(new BlobSource(f));
    },
    ...out,
  };
}
