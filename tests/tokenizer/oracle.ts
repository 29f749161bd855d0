// llama.cpp (through node-llama-cpp) as the oracle, and helpers to build vocab-only GGUFs for it.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from 'node-llama-cpp';
import { openGGUF } from '../../src/gguf/model.ts';
import type { Metadata } from '../../src/gguf/metadata.ts';
import { GGUFValueType, type GGUFEntry } from '../../src/gguf/types.ts';
import { writeGGUF } from '../../src/gguf/writer.ts';
import { NodeFileSink, NodeFileSource } from '../../src/storage/node-fs.ts';
import { SHARED } from '../helpers/gguf-fixtures.ts';

export const VOCAB_DIR = join(SHARED, 'vocab');
export const TOKENIZERS_DIR = join(SHARED, 'tokenizers');
export const SHARED_CONFIGS = join(SHARED, 'configs');
export const STORIES = ((): string => {
  const local = new URL('../../models/stories260K.gguf', import.meta.url).pathname;
  return existsSync(local) ? local : join(SHARED, 'models/stories260K.gguf');
})();

let llama: Promise<Llama> | undefined;

export function getOracle(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return llama;
}

export async function loadVocab(path: string): Promise<LlamaModel> {
  return (await getOracle()).loadModel({ modelPath: path, vocabOnly: true });
}

export async function readMetadata(path: string): Promise<Metadata> {
  const m = await openGGUF(await NodeFileSource.open(path));
  await m.close();
  return m.metadata;
}

export const str = (values: readonly string[]): GGUFEntry => ({ type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.STRING, values } });
export const i32 = (values: Int32Array): GGUFEntry => ({ type: GGUFValueType.ARRAY, value: { itemType: GGUFValueType.INT32, values } });
export const u32 = (value: number): GGUFEntry => ({ type: GGUFValueType.UINT32, value });
export const s = (value: string): GGUFEntry => ({ type: GGUFValueType.STRING, value });
export const b = (value: boolean): GGUFEntry => ({ type: GGUFValueType.BOOL, value });

let seq = 0;

/** Writes a tensor-less GGUF with `metadata` to a temp file llama.cpp can load as a vocabulary. */
export async function writeVocabGGUF(metadata: Iterable<readonly [string, GGUFEntry]>, name: string): Promise<string> {
  const path = join(tmpdir(), `ktweb-tok-${process.pid}-${seq++}-${name}.gguf`);
  await writeGGUF(await NodeFileSink.create(path), { metadata, tensors: [] });
  return path;
}

/** llama.* keys llama.cpp needs before it reads the vocabulary (copied from a llama.cpp vocab file). */
export function llamaArchKeys(from: Metadata, nVocab: number): [string, GGUFEntry][] {
  const out: [string, GGUFEntry][] = [];
  for (const [k, e] of from) {
    if (k.startsWith('tokenizer.')) continue;
    out.push([k, k === 'llama.vocab_size' ? u32(nVocab) : e]);
  }
  return out;
}
