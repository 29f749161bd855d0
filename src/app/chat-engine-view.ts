// What the chat page shows about the engine: where the loaded model runs (backend, placement), live memory by
// device and the last forward pass's device times (EngineStats), the plan of a rules text, and the note for a
// browser without a usable GPU. Rendering only: the numbers come from the engine worker.
import type { EngineStats, ModelInfo, PlanSummary } from '../api/types.ts';
import type { GpuProbe, LoadedRules } from '../api/worker-protocol.ts';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
export const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
const ms = (x: number): string => `${x.toFixed(x >= 10 ? 0 : 1)} ms`;

function modules(n: number, where: string): string {
  return `${n} module${n === 1 ? '' : 's'} with weights on the ${where}`;
}

/** The planned bytes per device of a placement (weights, KV cache, scratch) in one line. */
function planLine(p: PlanSummary): string {
  const dev = (name: string, d: PlanSummary['devices']['gpu']): string => {
    if (d.total === 0) return `${name} nothing`;
    const parts = [['weights', d.weights], ['KV cache', d.kvCache], ['scratch', d.scratch]].filter(([, b]) => (b as number) > 0);
    return `${name} ${mib(d.total)} (${parts.map(([k, b]) => `${k as string} ${mib(b as number)}`).join(', ')})`;
  };
  const shards = p.wasmShards > 0 ? ` · the CPU weights fill ${p.wasmShards} wasm memor${p.wasmShards === 1 ? 'y' : 'ies'}` : '';
  return `${dev('GPU', p.devices.gpu)} · ${dev('CPU', p.devices.cpu)}${shards}`;
}

/** The plan of the rules in the editor (checked, maybe not applied yet). */
export function renderPlan(p: PlanSummary, rules: string): void {
  const el = $('plan-summary');
  el.textContent = `Plan for ${rules}: ${modules(p.modulesOnGpu, 'GPU')}, ${p.modulesOnCpu} on the CPU. Planned memory: ${planLine(p)}.`;
  el.dataset['gpu'] = String(p.modulesOnGpu);
  el.dataset['cpu'] = String(p.modulesOnCpu);
}

function memoryText(s: EngineStats, plan: PlanSummary | undefined): string {
  const parts: string[] = [];
  const gpu = s.memory.gpu;
  const planned = (d: 'gpu' | 'cpu'): string => (plan !== undefined ? ` (planned ${mib(plan.devices[d].total)})` : '');
  if (gpu !== undefined) parts.push(`GPU buffers ${mib(gpu.reduce((a, b) => a + b, 0))}${gpu.length > 1 ? ` (${gpu.map(mib).join(' + ')})` : ''}${planned('gpu')}`);
  else if (s.placement.modulesOnGpu > 0) parts.push(`GPU: not reported by the WebGPU backend yet${planned('gpu')}`);
  else parts.push('GPU: not used');
  const cpu = s.memory.cpu;
  // A wasm memory's size is what it has grown to (its buffer), which is what the browser holds for it.
  if (cpu !== undefined) parts.push(cpu.map((b, i) => `wasm memory ${i + 1}: ${mib(b)}`).join(' · ') + planned('cpu'));
  else if (s.placement.modulesOnCpu > 0) parts.push(`CPU: not reported by this backend${planned('cpu')}`);
  else parts.push('CPU: not used');
  return parts.join(' · ');
}

function stepText(s: EngineStats): string {
  const t = s.lastStep;
  if (t === undefined) return 'one device runs everything (the GPU/CPU breakdown is shown when both do)';
  if (t.segments === 0) return 'none yet (shown after an answer)';
  return `${ms(t.wallMs)}: GPU busy ${ms(t.gpuMs)}, CPU busy ${ms(t.cpuMs)}, both at once ${ms(t.overlapMs)} (${t.segments} segments)`;
}

/** The engine panel: refreshed after every load and every answer. */
export function renderEngine(info: ModelInfo, rules: LoadedRules, s: EngineStats, plan: PlanSummary | undefined): void {
  $('engine-panel').hidden = false;
  $('engine-backend').textContent = info.backend;
  const place = $('engine-placement');
  place.textContent = `${rules.name}${rules.edited ? ' (edited)' : ''}: ${modules(s.placement.modulesOnGpu, 'GPU')}, ${s.placement.modulesOnCpu} on the CPU`;
  place.dataset['rules'] = rules.name;
  place.dataset['gpu'] = String(s.placement.modulesOnGpu);
  place.dataset['cpu'] = String(s.placement.modulesOnCpu);
  const mem = $('engine-memory');
  mem.textContent = memoryText(s, plan);
  mem.dataset['wasmMemories'] = String(s.memory.cpu?.length ?? 0);
  mem.dataset['gpuBytes'] = String(s.memory.gpu?.reduce((a, b) => a + b, 0) ?? '');
  const step = $('engine-step');
  step.textContent = stepText(s);
  const t = s.lastStep;
  if (t !== undefined) Object.assign(step.dataset, { gpuMs: String(t.gpuMs), cpuMs: String(t.cpuMs), overlapMs: String(t.overlapMs), segments: String(t.segments) });
}

export function hideEngine(): void {
  $('engine-panel').hidden = true;
}

/**
 * The note above the page when models cannot use a GPU here, matching what device 'auto' does (browser-devices.ts):
 * no WebGPU or no adapter → all-CPU; a software adapter is treated as no GPU unless the GPU device is chosen.
 */
export function gpuNote(p: GpuProbe): string | null {
  if (!p.webgpu) return 'This browser has no WebGPU: models run on the CPU (WASM kernels in worker threads) with the all-CPU rules (all-cpu.yaml). Rules that put modules on the GPU cannot load here.';
  if (p.adapter === null) return 'WebGPU found no adapter (a blocked or missing GPU driver): models run on the CPU (WASM kernels) with the all-CPU rules (all-cpu.yaml).';
  if (p.software) {
    return (
      `The only WebGPU adapter here is a software one (${p.adapter}), slower than the CPU kernels: device "auto" loads models with the all-CPU rules (all-cpu.yaml). ` +
      'Choose the device "GPU (WebGPU)" to run the model\'s own rules on it anyway (correct, but slow).'
    );
  }
  return null;
}
