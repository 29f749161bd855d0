// `ktweb inspect --json` on every GGUF in ../shared/data: exact tensor counts and key facts of each file.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SHARED } from '../helpers/gguf-fixtures.ts';

const run = promisify(execFile);

interface Summary {
  files: { version: number; tensors: number }[];
  metadata: Record<string, { type: string; value: unknown; text: string }>;
  totalTensors: number;
  totalsByType: Record<string, { tensors: number; bytes: number }>;
}

async function inspect(file: string): Promise<Summary> {
  const { stdout } = await run('node', ['bin/ktweb.mjs', 'inspect', '--json', file], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as Summary;
}

const arrayLength = (s: Summary, key: string): number => (s.metadata[key]!.value as { length: number }).length;

describe('ktweb inspect on the shared data', () => {
  it('stories260K: 48 F32 tensors, 5 layers, 512-token SentencePiece vocab', async () => {
    const s = await inspect(join(SHARED, 'models/stories260K.gguf'));
    expect(s.files[0]!.version).toBe(3);
    expect(s.totalTensors).toBe(48);
    expect(s.totalsByType['F32']!.tensors).toBe(48);
    expect(s.metadata['llama.block_count']!.value).toBe(5);
    expect(arrayLength(s, 'tokenizer.ggml.tokens')).toBe(512);
  });

  it('vocab-only GGUFs: no tensors; DeepSeek-LLM has 102,400 tokens', async () => {
    const expected: [string, number, string][] = [
      ['ggml-vocab-deepseek-llm.gguf', 102400, 'deepseek-llm'],
      ['ggml-vocab-deepseek-coder.gguf', 32256, 'deepseek-coder'],
      ['ggml-vocab-llama-spm.gguf', 32000, 'default'],
    ];
    for (const [file, n, pre] of expected) {
      const s = await inspect(join(SHARED, 'vocab', file));
      expect(s.totalTensors, file).toBe(0);
      expect(arrayLength(s, 'tokenizer.ggml.tokens'), file).toBe(n);
      expect(s.metadata['tokenizer.ggml.pre']!.value, file).toBe(pre);
    }
  });

  it('the text table summarises long arrays and prints totals', async () => {
    const { stdout } = await run('node', ['bin/ktweb.mjs', 'inspect', join(SHARED, 'vocab/ggml-vocab-deepseek-llm.gguf')], { maxBuffer: 64 << 20 });
    expect(stdout).toMatch(/tokenizer\.ggml\.tokens\s+ARRAY\s+\[STRING x 102400: "!", .*\.\.\.\]/);
    expect(stdout.split('\n').length).toBeLessThan(80);
  });
});
