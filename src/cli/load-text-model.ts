// Opens what `chat` and `tokenize` need: the GGUF (weights, and metadata for config and tokenizer) and, when
// --model-path points at an HF directory, its tokenizer.json / tokenizer_config.json instead of the GGUF vocab.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../core/errors.ts';
import type { Metadata } from '../gguf/metadata.ts';
import type { GGUFModel } from '../gguf/model.ts';
import { mergeHfConfig } from '../models/hf-config.ts';
import { fromGGUFMetadata, fromTokenizerJson, selectChatTemplate, chatTemplateFromGGUF, type Tokenizer } from '../tokenizer/index.ts';

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

export interface GenerationDefaults {
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
}

/** Sampling defaults of DIR/generation_config.json (sampling only when do_sample is not false). */
export async function loadGenerationConfig(modelPath: string | undefined): Promise<GenerationDefaults> {
  if (modelPath === undefined) return {};
  const path = join(modelPath, 'generation_config.json');
  const g = (await readJson(path)) as Record<string, unknown> | undefined;
  if (g === undefined || g['do_sample'] === false) return {};
  const n = (k: string): number | undefined => (typeof g[k] === 'number' ? g[k] : undefined);
  return { temperature: n('temperature'), topP: n('top_p'), topK: n('top_k') };
}

export interface TextModelParts {
  readonly tokenizer: Tokenizer;
  readonly chatTemplate: string | null;
}

export async function loadTokenizer(gguf: GGUFModel | undefined, modelPath: string | undefined): Promise<TextModelParts> {
  if (modelPath !== undefined) {
    const tj = await readJson(join(modelPath, 'tokenizer.json'));
    const cfg = (await readJson(join(modelPath, 'tokenizer_config.json'))) ?? {};
    if (tj !== undefined) {
      const tokenizer = fromTokenizerJson(tj, cfg);
      const tmpl = selectChatTemplate((cfg as { chat_template?: unknown }).chat_template) ?? tokenizer.chatTemplate;
      return { tokenizer, chatTemplate: tmpl };
    }
    if (gguf === undefined) throw new EngineError('bad_argument', `${modelPath} has no tokenizer.json; give --gguf-path to use the GGUF's vocabulary`, { file: modelPath });
  }
  if (gguf === undefined) throw new EngineError('bad_argument', 'give --gguf-path FILE.gguf (or --model-path DIR with tokenizer.json)');
  const tokenizer = fromGGUFMetadata(gguf.metadata, gguf.name);
  return { tokenizer, chatTemplate: chatTemplateFromGGUF(gguf.metadata) };
}
