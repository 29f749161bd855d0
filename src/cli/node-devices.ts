// The devices of the Node face: WebGPU through Dawn (the `webgpu` package; a real GPU via Vulkan, or Chromium's
// SwiftShader when the process was started with its ICD, DESIGN.md §6) and the WASM kernels on worker_threads.
// `--device cpu` never touches the GPU; `auto` uses it only when an adapter answers.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../core/errors.ts';
import { adapterDescription } from '../backends/webgpu/device.ts';
import { shaderLibrary, type ShaderLibrary } from '../backends/webgpu/wgsl-pre.ts';
import { isSoftwareAdapter, type ComputeDevices } from '../runtime/engine-executor.ts';
import { webGpuDeviceExecutor } from '../runtime/webgpu-device.ts';
import { nodeCpuExecutor, physicalCores } from './node-wasm.ts';

const SHADERS = fileURLToPath(new URL('../../shaders/', import.meta.url));

/** Every shaders/**\/*.wgsl but the benchmark lab, as the pages get them from Vite. */
export function nodeShaderLibrary(root = SHADERS): ShaderLibrary {
  const out: [string, string][] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) {
        if (e !== 'lab') walk(p);
      } else if (e.endsWith('.wgsl')) out.push([relative(root, p), readFileSync(p, 'utf8')]);
    }
  };
  walk(root);
  return shaderLibrary(out);
}

/** Dawn finds GPUs through Vulkan only; without an ICD it would just print a loader warning. */
function vulkanDriverListed(): boolean {
  if (process.env['VK_ICD_FILENAMES'] !== undefined || process.env['VK_DRIVER_FILES'] !== undefined) return true;
  return ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'].some((d) => existsSync(d) && readdirSync(d).length > 0);
}

/** Dawn's GPU object: it must outlive every device (collected, it takes the devices down with a segfault). */
let dawn: GPU | undefined;

/** The first GPU adapter Dawn finds and its description, or why there is none. */
async function findAdapter(): Promise<{ adapter: GPUAdapter; description: string } | string> {
  let create: (opts: string[]) => GPU;
  try {
    ({ create } = (await import('webgpu')) as { create: (opts: string[]) => GPU });
  } catch (e) {
    return `the WebGPU runtime for Node (the webgpu package) did not load: ${(e as Error).message.split('\n')[0]}`;
  }
  dawn ??= create([]);
  const adapter = await dawn.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) return 'no WebGPU adapter was found (no Vulkan GPU driver; on a CPU-only machine start with VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json for software WebGPU)';
  return { adapter, description: adapterDescription(adapter.info) };
}

export async function nodeComputeDevices(device: 'auto' | 'gpu' | 'cpu'): Promise<ComputeDevices> {
  // the WASM kernels on worker_threads, weights sharded over as many wasm32 memories as they need
  const base = { cpu: nodeCpuExecutor, cores: physicalCores() };
  if (device === 'cpu') return { ...base, gpuMissing: 'the GPU was not asked for (--device cpu)' };
  if (device === 'auto' && !vulkanDriverListed()) return { ...base, gpuMissing: 'no Vulkan driver is installed, so Dawn sees no GPU' };
  const found = await findAdapter();
  if (typeof found === 'string') return { ...base, gpuMissing: found };
  if (device === 'auto' && isSoftwareAdapter(found.description)) {
    return { ...base, gpuMissing: `the only WebGPU adapter is a software one (${found.description}), slower than the CPU kernels; --device gpu uses it anyway` };
  }
  const shaders = nodeShaderLibrary();
  return {
    ...base,
    // The device is requested only when the plan puts something on the GPU, and destroyed with the executor.
    gpu: async (o) => {
      // an adapter gives one device: ask again for each load (the first answer decided auto/software above)
      const again = await findAdapter();
      if (typeof again === 'string') throw new EngineError('device_lost', `the GPU went away: ${again}`);
      return webGpuDeviceExecutor(again.adapter, o, shaders, { timestamps: true });
    },
  };
}
