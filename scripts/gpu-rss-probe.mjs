// Host memory of Node + Dawn + the driver with a device open and nothing loaded (VmRSS / VmHWM): what the
// plan does not count on the GPU side. Run on the GPU machine: source DIR/enter.sh; node scripts/gpu-rss-probe.mjs
import { readFileSync } from 'node:fs';
import { create } from 'webgpu';
const kb = (f) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
console.log(`node alone: rss ${kb('VmRSS').toFixed(0)} MiB`);
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
const b = device.createBuffer({ size: 1 << 20, usage: 0x80 | 0x08 });
device.queue.writeBuffer(b, 0, new Uint8Array(1 << 20));
await device.queue.onSubmittedWorkDone();
console.log(`with a Dawn device (Vulkan ${adapter.info.vendor} ${adapter.info.architecture}): rss ${kb('VmRSS').toFixed(0)} MiB, peak ${kb('VmHWM').toFixed(0)} MiB`);
device.destroy();
process.exit(0);
