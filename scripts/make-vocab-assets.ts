// Builds the vocab assets under models/vocab/ that `ktweb make-model` embeds in synthetic GGUFs, from the real
// tokenizers in the shared data folder. Run once (npx tsx scripts/make-vocab-assets.ts [DATA_DIR]); the outputs
// are committed, so the repository does not need the data folder afterwards.
//   stories260K-spm.json      SentencePiece vocab of stories260K.gguf (512 tokens, scores, types)
//   deepseek-llm-bpe.json     256 byte tokens + first merges of DeepSeek-LLM's BPE (8192 tokens with 2 specials)
//   qwen2-bpe.json            the same for Qwen2 (8192 tokens with 3 specials)
//   ggml-vocab-deepseek-llm.gguf  the full 102,400-token vocab (v2-lite-shape), copied unchanged
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeFileSource } from '../src/storage/node-fs.ts';
import { mdArray, mdNumber, openGGUF } from '../src/gguf/index.ts';
import { bpePrefix, type BpeAsset } from '../src/models/synth/vocab.ts';

const DATA = process.argv[2] ?? new URL('../../shared/data/', import.meta.url).pathname;
const OUT = new URL('../models/vocab/', import.meta.url).pathname;
// The largest derived vocab a non-full preset uses (`small`), specials included.
const DERIVED_VOCAB = 8192;

/** Copies a file and makes the copy writable (the shared data folder is read-only). */
function copy(from: string, to: string): void {
  copyFileSync(from, to);
  chmodSync(to, 0o644);
}

/** GPT-2's bytes_to_unicode: the printable bytes map to themselves, the rest to U+0100 onwards, in this order. */
function byteTokens(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const out = bs.map((b) => String.fromCodePoint(b));
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) out.push(String.fromCodePoint(256 + n++));
  }
  return out;
}

/** One key per line, each array on one line: small diffs, no pretty-printed 16k-line files. */
function compactJson(o: Record<string, unknown>): string {
  return `{\n${Object.entries(o).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n')}\n}\n`;
}

function derive(name: string, source: string, license: string, pre: string, vocab: ReadonlySet<string>, merges: readonly string[], nSpecials: number): void {
  const bytes = byteTokens();
  for (const b of bytes) if (!vocab.has(b)) throw new Error(`${name}: byte token ${JSON.stringify(b)} is not in the source vocab`);
  const asset: BpeAsset = { pre, bytes, merges: [...merges] };
  // bpePrefix throws unless every merge joins bytes or results of earlier merges.
  const prefix = bpePrefix(asset, DERIVED_VOCAB - nSpecials);
  for (const t of prefix.tokens) if (!vocab.has(t)) throw new Error(`${name}: merge result ${JSON.stringify(t)} is not in the source vocab`);
  writeFileSync(join(OUT, name), compactJson({ source, license, pre, bytes, merges: prefix.merges }));
  console.log(`${name}: ${prefix.tokens.length} tokens from 256 bytes + ${prefix.merges.length} merges (self-consistent prefix), + ${nSpecials} specials`);
}

mkdirSync(OUT, { recursive: true });

{
  const path = join(DATA, 'models/stories260K.gguf');
  const m = await openGGUF(await NodeFileSource.open(path));
  const md = m.metadata;
  const tokens = [...(mdArray(md, 'tokenizer.ggml.tokens', path).values as string[])];
  const scores = Array.from(mdArray(md, 'tokenizer.ggml.scores', path).values as Float32Array);
  const types = Array.from(mdArray(md, 'tokenizer.ggml.token_type', path).values as Int32Array);
  const ids = { bos: mdNumber(md, 'tokenizer.ggml.bos_token_id', path), eos: mdNumber(md, 'tokenizer.ggml.eos_token_id', path), unk: mdNumber(md, 'tokenizer.ggml.unknown_token_id', path) };
  await m.close();
  writeFileSync(
    join(OUT, 'stories260K-spm.json'),
    compactJson({ source: 'karpathy/tinyllamas stories260K (tok512.model), via stories260K.gguf', license: 'MIT', tokens, scores, types, ...ids }),
  );
  console.log(`stories260K-spm.json: ${tokens.length} tokens`);
}

{
  const path = join(DATA, 'vocab/ggml-vocab-deepseek-llm.gguf');
  const m = await openGGUF(await NodeFileSource.open(path));
  const tokens = new Set(mdArray(m.metadata, 'tokenizer.ggml.tokens', path).values as string[]);
  const merges = mdArray(m.metadata, 'tokenizer.ggml.merges', path).values as string[];
  await m.close();
  derive('deepseek-llm-bpe.json', 'llama.cpp models/ggml-vocab-deepseek-llm.gguf (DeepSeek-LLM / DeepSeek-V2 tokenizer)', 'MIT (llama.cpp)', 'deepseek-llm', tokens, merges, 2);
  copy(path, join(OUT, 'ggml-vocab-deepseek-llm.gguf'));
  copy(join(DATA, 'vocab/LICENSE-llama.cpp'), join(OUT, 'LICENSE-llama.cpp'));
}

{
  const dir = join(DATA, 'tokenizers/qwen2');
  const vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
  const merges = readFileSync(join(dir, 'merges.txt'), 'utf8').split('\n').filter((l) => l.length > 0 && !l.startsWith('#version'));
  derive('qwen2-bpe.json', 'Qwen2 tokenizer vocab.json + merges.txt (alibaba/rtp-llm test data)', 'Apache-2.0', 'qwen2', new Set(Object.keys(vocab)), merges, 3);
  copy('/usr/share/common-licenses/Apache-2.0', join(OUT, 'LICENSE-Apache-2.0'));
}
