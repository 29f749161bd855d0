// `ktweb plan --gguf-path P [--model-path DIR] [--rules FILE] [--ctx N] [--json]`: where every module runs in
// prefill and decode, which rule (file:line) put it there, and bytes per device, before anything is loaded.
import { totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { EngineError } from '../core/errors.ts';
import { modelFromGGUF } from '../models/registry.ts';
import { defaultRulesFile, familyOf, loadRules, planPlacement, type PlacementPlan } from '../placement/index.ts';
import { formatBytes, table } from './format.ts';
import { loadConfig } from './load-text-model.ts';
import { openModelFile } from './open-model.ts';
import { readRuleFile, RULES_DIR, rulesPath } from './rules-files.ts';

function bytesArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B?)?$/i.exec(v.trim());
  if (m === null) throw new EngineError('bad_argument', `--${name} ${v}: expected bytes, e.g. 24GiB or 8000000000`);
  const unit = (m[2] ?? '').toUpperCase().replace(/I?B$/, '');
  const mul = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[unit] ?? 1;
  return Number(m[1]) * mul;
}

/** Loads the model header, config and rules, and plans (shared by plan, chat and bench). */
export async function planFor(o: { ggufPath: string; modelPath?: string; rules?: string; ctx: number; gpuMem?: string; ram?: string; maxBinding?: string }): Promise<{ plan: PlacementPlan; rulesFile: string }> {
  const gguf = await openModelFile(o.ggufPath);
  try {
    const md = await loadConfig(gguf, o.modelPath);
    const model = modelFromGGUF(gguf, md);
    const rulesFile = o.rules !== undefined ? rulesPath(o.rules) : join(RULES_DIR, defaultRulesFile(model, familyOf(md, model)));
    const rules = await loadRules(rulesFile, readRuleFile, (from, rel) => resolve(dirname(from), rel));
    const bytes = new Map([...gguf.tensors].map(([n, t]) => [n, t.info.nBytes]));
    const plan = planPlacement(md, model, bytes, rules, {
      nCtx: o.ctx,
      limits: { gpuBytes: bytesArg('gpu-mem', o.gpuMem), cpuBytes: bytesArg('ram', o.ram) ?? totalmem(), gpuMaxBinding: bytesArg('max-binding', o.maxBinding) },
    });
    return { plan, rulesFile };
  } finally {
    await gguf.close();
  }
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('show where each module runs (prefill/decode), the rule that placed it, and memory per device')
    .requiredOption('--gguf-path <file>', 'GGUF model (split models: the first part)')
    .option('--model-path <dir>', 'HF model directory (config.json must agree with the GGUF)')
    .option('--rules <file>', 'placement rules (default: chosen from the architecture, see rules/)')
    .option('--ctx <n>', 'context length the KV cache is sized for', '4096')
    .option('--gpu-mem <bytes>', 'GPU memory available, e.g. 24GiB (refuse plans that exceed it)')
    .option('--ram <bytes>', 'RAM available for the CPU side (default: this machine)')
    .option('--max-binding <bytes>', 'largest GPU buffer binding (report tensors that must be split)')
    .option('--json', 'machine-readable output')
    .action(async (o: { ggufPath: string; modelPath?: string; rules?: string; ctx: string; gpuMem?: string; ram?: string; maxBinding?: string; json?: boolean }) => {
      const ctx = Number(o.ctx);
      if (!Number.isInteger(ctx) || ctx < 1) throw new EngineError('bad_argument', `--ctx ${o.ctx}: expected a positive integer`);
      const { plan, rulesFile } = await planFor({ ...o, ctx });
      const where = (r: { file: string; line: number } | undefined, inherited: boolean): string =>
        r === undefined ? 'default' : `${r.file.startsWith(RULES_DIR) ? `rules/${r.file.slice(RULES_DIR.length)}` : r.file}:${r.line}${inherited ? ' (inherited)' : ''}`;
      if (o.json === true) {
        process.stdout.write(
          `${JSON.stringify(
            {
              rules: rulesFile,
              nCtx: plan.nCtx,
              devices: plan.devices,
              wasmShards: plan.wasmShards,
              splitTensors: plan.splitTensors,
              modules: plan.modules.map((m) => ({
                path: m.path,
                class: m.cls,
                prefill: m.placement.prefill,
                decode: m.placement.generate,
                op: m.placement.op,
                prefillOp: m.placement.prefillOp,
                decodeOp: m.placement.generateOp,
                rule: where(m.placement.rule, m.placement.inherited),
                tensors: m.tensors,
                bytes: m.tensors.reduce((a, t) => a + (plan.tensorBytes.get(t) ?? 0), 0),
              })),
            },
            null,
            1,
          )}\n`,
        );
        return;
      }
      const rows = plan.modules.map((m) => {
        const b = m.tensors.reduce((a, t) => a + (plan.tensorBytes.get(t) ?? 0), 0);
        const op = (d: string, x?: string): string => (x === undefined ? d : `${d} (${x})`);
        return [m.path, m.cls.replace(/^torch\.nn\./, 'nn.'), op(m.placement.prefill, m.placement.prefillOp), op(m.placement.generate, m.placement.generateOp), where(m.placement.rule, m.placement.inherited), b > 0 ? formatBytes(b) : ''];
      });
      const d = plan.devices;
      process.stdout.write(
        [
          `rules: ${rulesFile}`,
          table(['module', 'class', 'prefill', 'decode', 'rule', 'weights'], rows),
          '',
          table(
            ['device', 'weights', `KV cache (${plan.nCtx} tokens)`, 'scratch', 'total'],
            (['gpu', 'cpu'] as const).map((k) => [k, formatBytes(d[k].weights), formatBytes(d[k].kvCache), formatBytes(d[k].scratch), formatBytes(d[k].total)]),
          ),
          `CPU weights need ${plan.wasmShards} wasm memor${plan.wasmShards === 1 ? 'y' : 'ies'} of ≤ 4 GiB${plan.splitTensors.length > 0 ? `; ${plan.splitTensors.length} GPU tensors exceed one binding and are split` : ''}`,
          '',
        ].join('\n'),
      );
    });
}
