// Engine-facing entry for looking inside a model file without loading it: header + summary only.
import type { ByteSource } from '../core/byte-source.ts';
import { openGGUF } from '../gguf/model.ts';
import { summarize, type ModelSummary } from '../gguf/summary.ts';

export type { ModelSummary } from '../gguf/summary.ts';

/** Parses the GGUF header(s) of `first` (plus sibling shards via `openShard`) and summarises them. */
export async function inspectModel(first: ByteSource, openShard?: (name: string) => Promise<ByteSource>): Promise<ModelSummary> {
  const model = await openGGUF(first, openShard);
  try {
    return summarize(model);
  } finally {
    await model.close();
  }
}
