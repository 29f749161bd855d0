// Device negotiation: the caller (page, CLI, test) finds a GPUAdapter; this asks it for the largest buffers and
// bindings it allows and the optional features the kernels use (subgroups; shader-f16 and timestamp-query when
// present). Every kernel has an f32, no-subgroup path, so a device without any feature still runs everything.

export interface GpuCaps {
  readonly subgroups: boolean;
  /** Smallest subgroup size the device may use (0 when unknown: then subgroup kernels are not used). */
  readonly subgroupMinSize: number;
  readonly subgroupMaxSize: number;
  readonly shaderF16: boolean;
  readonly timestampQuery: boolean;
  /** maxStorageBufferBindingSize: weights larger than this are split into several buffers. */
  readonly maxBindingBytes: number;
  readonly maxBufferBytes: number;
  readonly maxWorkgroupStorage: number;
  readonly maxWorkgroupsPerDim: number;
  readonly minUniformOffsetAlign: number;
  readonly description: string;
}

export interface GpuContext {
  readonly device: GPUDevice;
  readonly caps: GpuCaps;
}

export interface DeviceOptions {
  /** Leave subgroups off even when present (tests the shared-memory fallbacks). */
  readonly noSubgroups?: boolean;
  /** Ask for timestamp-query when present (benchmarks). */
  readonly timestamps?: boolean;
  readonly label?: string;
}

const LIMITS = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX'] as const;

/** Requests a device with the adapter's own limits for buffers and bindings and the useful optional features. */
export async function requestGpuContext(adapter: GPUAdapter, o: DeviceOptions = {}): Promise<GpuContext> {
  const want: GPUFeatureName[] = [];
  if (!o.noSubgroups && adapter.features.has('subgroups')) want.push('subgroups');
  if (adapter.features.has('shader-f16')) want.push('shader-f16');
  if (o.timestamps === true && adapter.features.has('timestamp-query')) want.push('timestamp-query');
  const requiredLimits: Record<string, number> = {};
  for (const k of LIMITS) requiredLimits[k] = adapter.limits[k];
  const device = await adapter.requestDevice({ requiredFeatures: want, requiredLimits, label: o.label ?? 'ktweb' });
  return gpuContextFromDevice(device, adapter.info);
}

/** Capabilities of a device created elsewhere; `info` supplies subgroup sizes when the device lacks adapterInfo. */
export function gpuContextFromDevice(device: GPUDevice, info?: GPUAdapterInfo): GpuContext {
  const ai = info ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const sgMin = ai?.subgroupMinSize ?? 0;
  const sgMax = ai?.subgroupMaxSize ?? 0;
  const l = device.limits;
  const caps: GpuCaps = {
    subgroups: device.features.has('subgroups') && sgMin > 0,
    subgroupMinSize: sgMin,
    subgroupMaxSize: sgMax,
    shaderF16: device.features.has('shader-f16'),
    timestampQuery: device.features.has('timestamp-query'),
    maxBindingBytes: l.maxStorageBufferBindingSize,
    maxBufferBytes: l.maxBufferSize,
    maxWorkgroupStorage: l.maxComputeWorkgroupStorageSize,
    maxWorkgroupsPerDim: l.maxComputeWorkgroupsPerDimension,
    minUniformOffsetAlign: l.minUniformBufferOffsetAlignment,
    description: ai !== undefined ? adapterDescription(ai) : '',
  };
  return { device, caps };
}

/** vendor, architecture, device and driver description of an adapter, the empty ones left out. */
export function adapterDescription(i: GPUAdapterInfo): string {
  return [i.vendor, i.architecture, i.device, i.description].filter((x) => x !== undefined && x !== '').join(' ');
}
