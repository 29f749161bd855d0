// config.json (--model-path) next to a GGUF: real HF configs map to llama.cpp's keys; a config that agrees
// with the GGUF changes nothing; one that disagrees stops loading with the field named (library and CLI).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mdNumber, type Metadata } from '../../src/gguf/metadata.ts';
import { openGGUF } from '../../src/gguf/model.ts';
import { hfConfigEntries, mergeHfConfig } from '../../src/models/hf-config.ts';
import { makeModel } from '../../src/models/synth/make-model.ts';
import { ReferenceSession } from '../../src/runtime/reference-session.ts';
import { NodeFileSink, NodeFileSource } from '../../src/storage/node-fs.ts';
import { SHARED } from '../helpers/gguf-fixtures.ts';

const run = promisify(execFile);
const ASSETS = { open: (n: string) => NodeFileSource.open(new URL(`../../models/vocab/${n}`, import.meta.url).pathname) };
let dir: string;
let ggufPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-hf-'));
  ggufPath = join(dir, 'ds2.gguf');
  await makeModel({ arch: 'deepseek2', preset: 'tiny', quant: 'Q8_0', seed: 5 }, await NodeFileSink.create(ggufPath), ASSETS);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readConfig = async (rel: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(join(SHARED, 'configs', rel), 'utf8')) as Record<string, unknown>;

/** An HF DeepseekV2 config.json for the GGUF, written field by field from its metadata. */
function configFor(md: Metadata): Record<string, unknown> {
  const n = (k: string): number => mdNumber(md, `deepseek2.${k}`, 'test');
  return {
    architectures: ['DeepseekV2ForCausalLM'],
    hidden_size: n('embedding_length'),
    num_hidden_layers: n('block_count'),
    num_attention_heads: n('attention.head_count'),
    num_key_value_heads: n('attention.head_count_kv'),
    rms_norm_eps: n('attention.layer_norm_rms_epsilon'),
    rope_theta: n('rope.freq_base'),
    max_position_embeddings: n('context_length'),
    vocab_size: n('vocab_size'),
    intermediate_size: n('feed_forward_length'),
    moe_intermediate_size: n('expert_feed_forward_length'),
    n_routed_experts: n('expert_count'),
    num_experts_per_tok: n('expert_used_count'),
    n_shared_experts: n('expert_shared_count'),
    first_k_dense_replace: n('leading_dense_block_count'),
    kv_lora_rank: n('attention.kv_lora_rank'),
    q_lora_rank: n('attention.q_lora_rank'),
    qk_rope_head_dim: n('rope.dimension_count'),
    qk_nope_head_dim: n('attention.key_length') - n('rope.dimension_count'),
    v_head_dim: n('attention.value_length'),
    routed_scaling_factor: n('expert_weights_scale'),
    scoring_func: 'softmax',
    rope_scaling: { type: 'yarn', factor: n('rope.scaling.factor'), original_max_position_embeddings: n('rope.scaling.original_context_length'), mscale_all_dim: n('rope.scaling.yarn_log_multiplier') / 0.1 },
  };
}

describe('HF config.json with a GGUF', () => {
  it('maps the real configs to llama.cpp keys', async () => {
    const v2 = new Map(hfConfigEntries(await readConfig('deepseek-v2-lite/config.json'), 'v2').entries.map((e) => [e.key, e.value]));
    expect(v2.get('deepseek2.block_count')).toBe(27);
    expect(v2.get('deepseek2.attention.q_lora_rank')).toBe(0);
    expect(v2.get('deepseek2.attention.key_length')).toBe(192);
    expect(v2.get('deepseek2.expert_count')).toBe(64);
    expect(v2.get('deepseek2.rope.scaling.yarn_log_multiplier')).toBeCloseTo(0.0707, 6);
    const r1 = new Map(hfConfigEntries(await readConfig('deepseek-r1-v3arch/config.json'), 'r1').entries.map((e) => [e.key, e.value]));
    expect([r1.get('deepseek2.expert_count'), r1.get('deepseek2.expert_gating_func'), r1.get('deepseek2.expert_group_count'), r1.get('deepseek2.expert_weights_norm')]).toEqual([256, 2, 8, true]);
    const q3 = hfConfigEntries(await readConfig('qwen3-30b-a3b/config.json'), 'q3');
    expect(q3.arch).toBe('qwen3moe');
    expect(new Map(q3.entries.map((e) => [e.key, e.value])).get('qwen3moe.attention.key_length')).toBe(128);
    expect(hfConfigEntries(await readConfig('mixtral-8x7b-v0.1/config.json'), 'mx').arch).toBe('llama');
    expect(hfConfigEntries(await readConfig('qwen1.5-moe-a2.7b/config.json'), 'q2').arch).toBe('qwen2moe');
  });

  it('an agreeing config changes nothing; a disagreeing one names the field', async () => {
    const gguf = await openGGUF(await NodeFileSource.open(ggufPath));
    const cfg = configFor(gguf.metadata);
    const merged = mergeHfConfig(gguf.metadata, cfg, 'config.json', ggufPath);
    const prompt = [1, 40, 41, 42, 43];
    const a = (await ReferenceSession.load(gguf, 16)).eval(prompt, true);
    const b = (await ReferenceSession.load(gguf, 16, false, merged)).eval(prompt, true);
    expect(b).toEqual(a);
    for (const [field, value, key] of [['num_experts_per_tok', 3, 'expert_used_count'], ['kv_lora_rank', 512, 'kv_lora_rank'], ['rms_norm_eps', 1e-5, 'layer_norm_rms_epsilon']] as const) {
      expect(() => mergeHfConfig(gguf.metadata, { ...cfg, [field]: value }, 'config.json', ggufPath)).toThrow(new RegExp(`config.json ${field} = .* disagrees with deepseek2\\..*${key}`));
    }
    expect(() => mergeHfConfig(gguf.metadata, { ...cfg, architectures: ['Qwen3MoeForCausalLM'] }, 'config.json', ggufPath)).toThrow(/describes a qwen3moe model/);
    await gguf.close();
  });

  it('ktweb chat --model-path with a disagreeing config.json exits 2 with one line', async () => {
    const gguf = await openGGUF(await NodeFileSource.open(ggufPath));
    const cfg = configFor(gguf.metadata);
    await gguf.close();
    const good = join(dir, 'good');
    const bad = join(dir, 'bad');
    await mkdir(good);
    await mkdir(bad);
    await writeFile(join(good, 'config.json'), JSON.stringify(cfg));
    await writeFile(join(bad, 'config.json'), JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
    const ok = await run('node', ['bin/ktweb.mjs', 'chat', '--gguf-path', ggufPath, '--model-path', good, '--prompt', 'hi', '--max-new-tokens', '3', '--json']);
    expect(JSON.parse(ok.stdout.trim()).ids).toHaveLength(3);
    const r = await run('node', ['bin/ktweb.mjs', 'chat', '--gguf-path', ggufPath, '--model-path', bad, '--prompt', 'hi']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\[model_invalid\] config.json num_hidden_layers = 3 disagrees with deepseek2.block_count = 2/);
  });
});
