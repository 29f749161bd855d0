// Opens what `chat` and `tokenize` need: the GGUF (weights, and metadata for config and tokenizer) and, when
// --model-path points at an HF directory, its tokenizer.json / tokenizer_config.json instead of the GGUF vocab.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from '../core/errors.ts';
import type { GGUFModel } from '../gguf/model.ts';
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
