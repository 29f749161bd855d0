// Placement rules: KTransformers semantics (first match wins, re.search names AND classes, recursive: false,
// unmatched → default), extends, errors with file:line, and the shipped rule files on the exact DeepSeek-V2-Lite
// shape (planned from the header alone: make-model's planModel writes nothing).
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/core/errors.ts';
import { GGUFValueType } from '../../src/gguf/types.ts';
import type { Metadata } from '../../src/gguf/metadata.ts';
import { makeModel as modelFromMetadata, type Model } from '../../src/models/model.ts';
import { architecture } from '../../src/models/registry.ts';
import { planModel, type MakeModelOptions } from '../../src/models/synth/make-model.ts';
import { defaultRulesFile, familyOf, loadRules, parseRuleFile, planPlacement, type PlacementPlan } from '../../src/placement/index.ts';

const RULES = new URL('../../rules/', import.meta.url).pathname;
const read = (p: string): Promise<string> => readFile(p, 'utf8');
const rel = (from: string, r: string): string => resolve(dirname(from), r);

function synthetic(o: Omit<MakeModelOptions, 'seed'>): { md: Metadata; model: Model; bytes: Map<string, number> } {
  const p = planModel({ seed: 1, ...o });
  // The header without the tokenizer: the vocabulary size comes from {arch}.vocab_size, added where the arch omits it.
  const md: Metadata = new Map([
    ['general.architecture', { type: GGUFValueType.STRING, value: p.ggufArch }],
    [`${p.ggufArch}.vocab_size`, { type: GGUFValueType.UINT32, value: p.hp.nVocab }],
    ...p.archMetadata,
  ]);
  const dims = new Map(p.tensors.map((t) => [t.name, t.dims]));
  const model = modelFromMetadata(architecture(p.ggufArch, 'x'), md, 'x', (n) => dims.get(n));
  return { md, model, bytes: new Map(p.tensors.map((t) => [t.name, t.bytes])) };
}

async function plan(o: Omit<MakeModelOptions, 'seed'>, rulesPath: string, nCtx = 4096): Promise<PlacementPlan> {
  const { md, model, bytes } = synthetic(o);
  return planPlacement(md, model, bytes, await loadRules(rulesPath, read, rel), { nCtx });
}

function byTensor(p: PlacementPlan): Map<string, string> {
  return new Map(p.modules.flatMap((m) => m.tensors.map((t) => [t, `${m.placement.prefill}/${m.placement.generate}`] as const)));
}

const V2LITE = { arch: 'deepseek2', preset: 'v2-lite-shape', quant: 'Q4_K_M' } as const;

describe('placement rules', () => {
  it('DeepSeek-V2-Lite hybrid: routed experts on the CPU, the rest on the GPU; bytes add up', async () => {
    const { model, md } = synthetic(V2LITE);
    expect(defaultRulesFile(model, familyOf(md, model))).toBe('deepseek-v2-lite.yaml');
    const p = await plan(V2LITE, join(RULES, 'deepseek-v2-lite.yaml'));
    const t = byTensor(p);
    expect(t.get('blk.5.ffn_down_exps.weight')).toBe('cpu/cpu');
    expect(t.get('blk.5.ffn_down_shexp.weight')).toBe('gpu/gpu');
    expect(t.get('blk.5.attn_kv_b.weight')).toBe('gpu/gpu');
    expect(t.get('blk.0.ffn_down.weight')).toBe('gpu/gpu');
    expect(t.get('token_embd.weight')).toBe('cpu/cpu');
    expect(t.get('output.weight')).toBe('gpu/gpu');
    const total = [...p.tensorBytes.values()].reduce((a, b) => a + b, 0);
    expect(p.devices.gpu.weights + p.devices.cpu.weights).toBe(total);
    // 26 MoE layers × 64 experts × 3 matrices of 2048×1408 at ~4.5-8.5 bits: the bulk of the 9.7 GB.
    expect(p.devices.cpu.weights / total).toBeGreaterThan(0.85);
    expect(p.wasmShards).toBe(3);
    // Full (decompressed) K/V per head as the graph caches them: 27 layers × 16 heads × (192 + 128) f32.
    expect(p.devices.gpu.kvCache).toBe(27 * 16 * (192 + 128) * 4 * 4096);
  });

  it('a KTransformers rule file for DeepSeek-V2-Lite places every tensor as ours does', async () => {
    const ours = byTensor(await plan(V2LITE, join(RULES, 'deepseek-v2-lite.yaml')));
    const kt = await plan(V2LITE, new URL('../data/rules/kt-style-deepseek-v2-lite.yaml', import.meta.url).pathname);
    expect(byTensor(kt)).toEqual(ours);
    const experts = kt.modules.find((m) => m.path === 'model.layers.3.mlp.experts')!;
    // KTransformers runs generate_op for prefill too unless layer-wise prefill is on.
    expect([experts.placement.generateOp, experts.placement.prefillOp, experts.placement.outDevice]).toEqual(['KExpertsCPU', 'KExpertsCPU', 'gpu']);
    expect(kt.modules.find((m) => m.path === 'model.layers.3.self_attn.rotary_emb')!.placement.rule?.line).toBe(4);
  });

  it('more-VRAM variant moves the experts of layers 1-8 to the GPU; all-cpu and all-gpu', async () => {
    const more = byTensor(await plan(V2LITE, join(RULES, 'deepseek-v2-lite-more-vram.yaml')));
    expect([more.get('blk.8.ffn_up_exps.weight'), more.get('blk.9.ffn_up_exps.weight')]).toEqual(['gpu/gpu', 'cpu/cpu']);
    const cpu = await plan(V2LITE, join(RULES, 'all-cpu.yaml'));
    expect(cpu.devices.gpu.weights).toBe(0);
    const gpu = await plan(V2LITE, join(RULES, 'all-gpu.yaml'));
    expect(gpu.devices.cpu.weights).toBe(0);
  });

  it('every shipped family file applies to its family', async () => {
    const cases: [Omit<MakeModelOptions, 'seed'>, string][] = [
      [{ arch: 'deepseek2-v3', preset: 'small', quant: 'Q4_K_M' }, 'deepseek-v3.yaml'],
      [{ arch: 'deepseek2', preset: 'small', quant: 'Q4_K_M' }, 'deepseek-v2.yaml'],
      [{ arch: 'qwen2moe', preset: 'tiny', quant: 'Q4_K_M' }, 'qwen2moe.yaml'],
      [{ arch: 'qwen3moe', preset: 'tiny', quant: 'Q4_K_M' }, 'qwen3moe.yaml'],
      [{ arch: 'mixtral', preset: 'tiny', quant: 'Q4_K_M' }, 'mixtral.yaml'],
      [{ arch: 'llama', preset: 'tiny', quant: 'Q4_K_M' }, 'all-gpu.yaml'],
    ];
    for (const [o, file] of cases) {
      const { md, model } = synthetic(o);
      expect(defaultRulesFile(model, familyOf(md, model)), o.arch).toBe(file);
      const p = await plan(o, join(RULES, file));
      const experts = p.modules.filter((m) => m.path.endsWith('.experts'));
      for (const m of experts) expect(m.placement.generate, m.path).toBe('cpu');
    }
  });

  it('a plan that does not fit is refused before loading', async () => {
    const { md, model, bytes } = synthetic(V2LITE);
    const rules = await loadRules(join(RULES, 'all-gpu.yaml'), read, rel);
    expect(() => planPlacement(md, model, bytes, rules, { nCtx: 4096, limits: { gpuBytes: 8 * 2 ** 30 } })).toThrow(/needs 1\d\.\d\d GiB on the GPU .* but 8\.00 GiB is available/);
  });
});

describe('rule file errors name the file and line', () => {
  const bad: [string, RegExp][] = [
    ['- match: {name: "^model$"}\n  replace: {class: default}\n  recursve: false\n', /x\.yaml:3: unknown rule key "recursve"/],
    ['- match: {name: "([unclosed"}\n  replace: {class: default}\n', /x\.yaml:1: match\.name is not a valid regular expression/],
    ['- match: {name: "^model$"}\n  replace: {class: ktransformers.operators.experts.KNoSuchThing}\n', /x\.yaml:2: unknown replace class/],
    ['- match: {name: "^model$"}\n  replace:\n    kwargs: {generate_device: tpu}\n', /x\.yaml:3: generate_device: "tpu" is not a device/],
    ['- match: {name: "^model$"}\n  replace:\n    kwargs: {generate_op: KExpertsGPU9000}\n', /x\.yaml:3: generate_op: unknown op/],
    ['- match: {name: "^model$"}\n  replace:\n    kwargs: {devize: cpu}\n', /x\.yaml:3: unknown kwarg "devize"/],
    ['- match: {}\n  replace: {class: default}\n', /x\.yaml:1: match: needs name: or class:/],
    ['- match: {name: "^model$"\n  replace: {class: default}\n', /x\.yaml:\d+: YAML syntax/],
    ['rules: []\nextend: base.yaml\n', /x\.yaml:2: unknown top-level key "extend"/],
  ];
  for (const [text, re] of bad) {
    it(re.source, () => {
      let err: unknown;
      try {
        parseRuleFile(text, 'x.yaml');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).code).toBe('rule_invalid');
      expect((err as EngineError).message).toMatch(re);
    });
  }

  it('a rule that matches nothing, and a Python-syntax regex that does', async () => {
    const { md, model, bytes } = synthetic({ arch: 'qwen3moe', preset: 'tiny', quant: 'Q8_0' });
    const rules = parseRuleFile('- match: {name: "^model\\\\.layers\\\\.(?P<n>\\\\d+)\\\\.mlp\\\\.experts$"}\n  replace: {class: experts, kwargs: {generate_device: cpu}}\n- match: {name: "shared_experts"}\n  replace: {class: default}\n', 'y.yaml').rules;
    expect(() => planPlacement(md, model, bytes, rules, { nCtx: 16 })).toThrow(/y\.yaml:3: this rule matches no module/);
    const ok = planPlacement(md, model, bytes, rules.slice(0, 1), { nCtx: 16 });
    expect(ok.modules.find((m) => m.path === 'model.layers.1.mlp.experts')!.placement.generate).toBe('cpu');
  });

  it('a rule of an extended file may be shadowed by the extending file (matching nothing is fine there)', async () => {
    const { md, model, bytes } = synthetic({ arch: 'qwen3moe', preset: 'tiny', quant: 'Q8_0' });
    const files: Record<string, string> = {
      'base.yaml': "- match: {name: '^model\\.layers\\.\\d+\\.mlp\\.experts$'}\n  replace: {class: experts, kwargs: {generate_device: cpu}}\n",
      'top.yaml': "extends: base.yaml\nrules:\n  - match: {name: '^model\\.layers\\.\\d+\\.mlp\\.experts$'}\n    replace: {class: experts, kwargs: {generate_device: gpu}}\n",
    };
    const rules = await loadRules('top.yaml', (n) => Promise.resolve(files[n]!), (_f, rel) => rel);
    const plan = planPlacement(md, model, bytes, rules, { nCtx: 16 });
    expect(plan.modules.find((m) => m.path === 'model.layers.1.mlp.experts')!.placement.generate).toBe('gpu');
    // the extending file's own rules must still match something
    const dead = await loadRules('top.yaml', (n) => Promise.resolve(n === 'top.yaml' ? files['top.yaml']!.replace('mlp', 'nothing') : files[n]!), (_f, rel) => rel);
    expect(() => planPlacement(md, model, bytes, dead, { nCtx: 16 })).toThrow(/top\.yaml:3: this rule matches no module/);
  });
});
