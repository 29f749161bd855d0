// Opens what `chat` and `tokenize` need: the GGUF (weights, and metadata for config and tokenizer) and, when
// --model-path points at an HF directory, its tokenizer.json / tokenizer_config.json instead of the GGUF vocab.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../core/errors.ts';
import type { Metadata } from '../gguf/metadata.ts';
import type { GGUFModel } from '../gguf/model.ts';
import { mergeHfConfig } from '../models/hf-config.ts';
import type { ModelSource } from '../api/local-engine.ts';
import { NodeFileSource, siblingOpener } from '../storage/node-fs.ts';
import { fromGGUFMetadata, fromTokenizerJson, type Tokenizer } from '../tokenizer/index.ts';

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new EngineError('bad_argument', `${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, { file: path });
  }
}

/** GGUF metadata completed by DIR/config.json (typed error when they disagree); the GGUF's own without one. */
export async function loadConfig(gguf: GGUFModel, modelPath: string | undefined): Promise<Metadata> {
  if (modelPath === undefined) return gguf.metadata;
  const path = join(modelPath, 'config.json');
  const config = await readJson(path);
  return config === undefined ? gguf.metadata : mergeHfConfig(gguf.metadata, config, path, gguf.name);
}

/** The tokenizer `ktweb tokenize` uses: tokenizer.json of --model-path when present, else the GGUF vocabulary. */
export async function loadTokenizer(gguf: GGUFModel | undefined, modelPath: string | undefined): Promise<Tokenizer> {
  if (modelPath !== undefined) {
    const tj = await readJson(join(modelPath, 'tokenizer.json'));
    const cfg = (await readJson(join(modelPath, 'tokenizer_config.json'))) ?? {};
    if (tj !== undefined) {
      return fromTokenizerJson(tj, cfg);
    }
    if (gguf === undefined) throw new EngineError('bad_argument', `${modelPath} has no tokenizer.json; give --gguf-path to use the GGUF's vocabulary`, { file: modelPath });
  }
  if (gguf === undefined) throw new EngineError('bad_argument', 'give --gguf-path FILE.gguf (or --model-path DIR with tokenizer.json)');
  return fromGGUFMetadata(gguf.metadata, gguf.name);
}

/** A ModelSource from the file system: the GGUF (and its shards) plus the HF files of --model-path. */
export async function nodeModelSource(ggufPath: string, modelPath: string | undefined): Promise<ModelSource> {
  const hf = async (name: string): Promise<unknown> => (modelPath === undefined ? undefined : readJson(join(modelPath, name)));
  return {
    first: await NodeFileSource.open(ggufPath),
    openShard: siblingOpener(ggufPath),
    config: await hf('config.json'),
    tokenizerJson: await hf('tokenizer.json'),
    tokenizerConfig: await hf('tokenizer_config.json'),
    generationConfig: await hf('generation_config.json'),
  };
}
