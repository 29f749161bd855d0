// The devices of the page's engine worker: WebGPU from navigator.gpu and the WASM kernels on module Workers
// spawned from this worker (they share one WebAssembly.Memory; the page is crossOriginIsolated). The kernel
// binaries are assets Vite fingerprints (`npm run build:wasm` makes them before dev or build).
import type { WasmIsa } from '../backends/wasm/abi.ts';
import { ShardedWasmExecutor } from '../backends/wasm/sharded.ts';
import { compileKernels, WasmRuntime, type KernelModules, type WasmPlatform } from '../backends/wasm/runtime.ts';
import { adapterDescription } from '../backends/webgpu/device.ts';
import { viteShaderLibrary } from '../backends/webgpu/shaders-vite.ts';
import { EngineError } from '../core/errors.ts';
import { isSoftwareAdapter, type ComputeDevices, type DeviceExecutor, type DeviceExecutorOptions } from '../runtime/engine-executor.ts';
import { webGpuDeviceExecutor } from '../runtime/webgpu-device.ts';

const KERNELS: Record<WasmIsa, URL> = {
  scalar: new URL('../../wasm/out/kernels-scalar.wasm', import.meta.url),
  simd128: new URL('../../wasm/out/kernels-simd128.wasm', import.meta.url),
  relaxed: new URL('../../wasm/out/kernels-relaxed.wasm', import.meta.url),
};

let modules: Promise<KernelModules> | undefined;
function kernels(): Promise<KernelModules> {
  modules ??= (async () => {
    const bins: Partial<Record<WasmIsa, ArrayBuffer>> = {};
    for (const [isa, url] of Object.entries(KERNELS) as [WasmIsa, URL][]) {
      const r = await fetch(url);
      if (!r.ok) throw new EngineError('io', `the WASM kernels did not load (${url.pathname}: HTTP ${r.status}); run \`npm run build:wasm\` before serving the pages`);
      bins[isa] = await r.arrayBuffer();
    }
    return compileKernels(bins);
  })();
  modules.catch(() => (modules = undefined));
  return modules;
}

const platform: WasmPlatform = {
  hardwareConcurrency: navigator.hardwareConcurrency,
  createWorker() {
    const w = new Worker(new URL('./wasm-kernel.worker.ts', import.meta.url), { type: 'module' });
    return { endpoint: w, terminate: () => w.terminate() };
  },
};

async function cpuExecutor(o: DeviceExecutorOptions): Promise<DeviceExecutor> {
  if (!crossOriginIsolated) throw new EngineError('bad_argument', 'the page is not cross-origin isolated, so WASM threads cannot share memory; serve it with COOP/COEP headers (README)');
  const modules = await kernels();
  // weights sharded over as many wasm32 memories as they need, each with its own worker pool (ARCHITECTURE.md)
  return ShardedWasmExecutor.create({
    nCtx: o.nCtx,
    weights: o.weights,
    createRuntime: () => WasmRuntime.create({ modules, platform, threads: o.cpuThreads }),
  });
}

export async function browserComputeDevices(device: 'auto' | 'gpu' | 'cpu'): Promise<ComputeDevices> {
  const base = { cpu: cpuExecutor, cores: navigator.hardwareConcurrency };
  if (device === 'cpu') return { ...base, gpuMissing: 'the GPU was not asked for (device: cpu)' };
  const gpuApi = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (gpuApi === undefined) return { ...base, gpuMissing: 'this browser has no WebGPU (navigator.gpu is missing)' };
  const adapter = await gpuApi.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) return { ...base, gpuMissing: 'WebGPU found no adapter (a blocked or missing GPU driver)' };
  const description = adapterDescription(adapter.info);
  if (device === 'auto' && isSoftwareAdapter(description)) {
    return { ...base, gpuMissing: `the only WebGPU adapter is a software one (${description}), slower than the CPU kernels; choose the GPU device to use it anyway` };
  }
  const shaders = viteShaderLibrary();
  return {
    ...base,
    // The device is requested only when the plan puts something on the GPU, and destroyed with the executor.
    gpu: async (o) => {
      // an adapter gives one device: ask again for each load (the first answer decided auto/software above)
      const again = await gpuApi.requestAdapter({ powerPreference: 'high-performance' });
      if (again === null) throw new EngineError('device_lost', 'the WebGPU adapter went away; reload the page');
      return webGpuDeviceExecutor(again, o, shaders);
    },
  };
}
