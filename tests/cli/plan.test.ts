// `ktweb plan` on a real (tiny) GGUF: the table names each module's devices and rule; a broken rules file exits 2
// with file:line; a plan over the GPU budget is refused.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ktweb } from '../helpers/ktweb-cli.ts';

let dir: string;
let gguf: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ktweb-plan-'));
  gguf = join(dir, 'q3.gguf');
  expect((await ktweb('make-model', '--arch', 'qwen3moe', '--preset', 'tiny', '--quant', 'Q4_K_M', '--seed', '2', gguf)).code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ktweb plan', () => {
  it('prints placement per module and bytes per device', async () => {
    const r = await ktweb('plan', '--gguf-path', gguf, '--ctx', '1024');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rules: .*rules\/qwen3moe\.yaml/);
    expect(r.stdout).toMatch(/model\.layers\.1\.mlp\.experts\s+nn\.ModuleList\s+cpu\s+cpu\s+rules\/moe-experts-cpu\.yaml:4/);
    expect(r.stdout).toMatch(/model\.layers\.1\.self_attn\.q_norm\s+Qwen3MoeRMSNorm\s+gpu\s+gpu\s+default/);
    const j = JSON.parse((await ktweb('plan', '--gguf-path', gguf, '--json')).stdout) as { devices: { gpu: { weights: number }; cpu: { weights: number } }; modules: { path: string; decode: string }[] };
    expect(j.devices.cpu.weights).toBeGreaterThan(j.devices.gpu.weights);
  });

  it('a rules file with an error exits 2 naming file and line; an oversized plan is refused', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, '- match: {name: "^model$"}\n  replace: {class: default}\n- match: {name: "experts$"}\n  replace: {class: expertz}\n');
    let r = await ktweb('plan', '--gguf-path', gguf, '--rules', bad);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\[rule_invalid\] .*bad\.yaml:4: unknown replace class "expertz"/);
    r = await ktweb('plan', '--gguf-path', gguf, '--gpu-mem', '1MiB');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[out_of_memory\] the plan needs .* on the GPU/);
  });
});
