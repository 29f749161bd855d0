// A GPU device in Node through Dawn (the `webgpu` package). On machines without a GPU, Dawn finds Chromium's
// SwiftShader only when the process starts with LD_LIBRARY_PATH=/usr/lib/chromium and
// VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (DESIGN.md §6): glibc reads LD_LIBRARY_PATH at
// start-up, so setting it from inside a test is too late.
import { create } from 'webgpu';
import { requestGpuContext, type DeviceOptions, type GpuContext } from '../../../src/backends/webgpu/device.ts';

let gpu: GPU | undefined;

export async function nodeGpuContext(o: DeviceOptions = {}): Promise<GpuContext> {
  gpu ??= create([]);
  const adapter = await gpu.requestAdapter();
  if (adapter === null) {
    throw new Error('no WebGPU adapter in Node: start the tests with LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (software Vulkan from Chromium) or on a machine with a Vulkan GPU');
  }
  return requestGpuContext(adapter, o);
}
