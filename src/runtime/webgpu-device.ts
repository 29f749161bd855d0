// The GPU side of ComputeDevices for either face (Dawn in Node, navigator.gpu in a page): a device requested from
// the adapter when the plan puts something on the GPU, a WebGpuExecutor on it that reports its buffer bytes, and
// both destroyed together.
import { requestGpuContext, type DeviceOptions } from '../backends/webgpu/device.ts';
import { WebGpuExecutor } from '../backends/webgpu/executor.ts';
import type { ShaderLibrary } from '../backends/webgpu/wgsl-pre.ts';
import type { DeviceExecutor, DeviceExecutorOptions } from './engine-executor.ts';

export async function webGpuDeviceExecutor(adapter: GPUAdapter, o: DeviceExecutorOptions, shaders: ShaderLibrary, device: DeviceOptions = {}): Promise<DeviceExecutor> {
  const ctx = await requestGpuContext(adapter, device);
  const ex = new WebGpuExecutor(ctx, o.weights, { nCtx: o.nCtx, shaders });
  return Object.assign(ex, {
    label: `WebGPU (${ctx.caps.description || 'adapter'})`,
    memoryBytes: () => [ex.allocatedBytes()],
    dispose: () => {
      ex.destroy();
      ctx.device.destroy();
    },
  });
}
