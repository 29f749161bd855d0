// `ktweb chat` and `ktweb tokenize` end to end: the CLI's greedy answer on the embedded model is llama.cpp's,
// and bad input (missing tensor, wrong shape, unknown architecture) exits 2 with one line.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Token } from 'node-llama-cpp';
import { openGGUF } from '../../src/gguf/model.ts';
import { writeGGUF } from '../../src/gguf/writer.ts';
import { NodeFileSink, NodeFileSource } from '../../src/storage/node-fs.ts';
import { llamaGreedy, loadLlamaModel } from '../helpers/llama-oracle.ts';

const run = promisify(execFile);
const MODEL = 'models/stories260K.gguf';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ktweb(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('node', ['bin/ktweb.mjs', ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

/** Copy of stories260K with `edit` applied to its tensor list. */
async function variant(name: string, edit: (t: { name: string; dims: readonly number[] }[]) => { name: string; dims: readonly number[] }[]): Promise<string> {
  const src = await openGGUF(await NodeFileSource.open(MODEL));
  const path = join(dir, name);
  const infos = edit(src.files[0]!.tensors.map((t) => ({ name: t.name, dims: t.dims })));
  await writeGGUF(await NodeFileSink.create(path), {
    metadata: src.metadata,
    tensors: infos.map((t) => {
      const orig = src.tensor(t.name).info;
      return { name: t.name, dims: t.dims, type: orig.type, data: () => src.readTensor(t.name) };
    }),
  });
  return path;
}

describe('ktweb chat / tokenize', () => {
  it('greedy answer equals llama.cpp for the same prompt', async () => {
    const r = await ktweb('chat', '--gguf-path', MODEL, '--prompt', 'Once upon a time', '--max-new-tokens', '48', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { prompt_ids: number[]; ids: number[]; text: string; timings: { decode_tps: number } };
    const oracle = await loadLlamaModel(MODEL);
    expect([oracle.tokens.bos, ...oracle.tokenize('Once upon a time')] as number[]).toEqual(out.prompt_ids);
    const theirs = await llamaGreedy(oracle, out.prompt_ids, out.ids.length);
    expect(out.ids).toEqual(theirs);
    expect(out.text).toBe(oracle.detokenize(theirs as Token[]));
    await oracle.dispose();
  });

  it('tokenize prints ids and pieces', async () => {
    const r = await ktweb('tokenize', '--gguf-path', MODEL, '--json', 'Once upon a time');
    expect(JSON.parse(r.stdout)).toEqual({ ids: [1, 403, 407, 261, 378], pieces: ['<s>', '▁Once', '▁upon', '▁a', '▁time'] });
  });

  it('a missing tensor or a wrong shape exits 2 naming the tensor', async () => {
    const missing = await variant('missing.gguf', (ts) => ts.filter((t) => t.name !== 'blk.2.ffn_up.weight'));
    let r = await ktweb('chat', '--gguf-path', missing, '--prompt', 'x', '--max-new-tokens', '1');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\[model_invalid\] tensor blk\.2\.ffn_up\.weight is missing/);
    const reshaped = await variant('shape.gguf', (ts) => ts.map((t) => (t.name === 'blk.0.attn_k.weight' ? { ...t, dims: [32, 64] } : t)));
    r = await ktweb('chat', '--gguf-path', reshaped, '--prompt', 'x', '--max-new-tokens', '1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/blk\.0\.attn_k\.weight has shape \[32, 64\], expected \[64, 32\]/);
  });
});
