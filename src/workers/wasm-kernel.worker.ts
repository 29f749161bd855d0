// Browser entry of a WASM kernel worker (module worker, crossOriginIsolated page): serves the pool over comlink.
import { serveKernelWorker } from '../backends/wasm/worker-side.ts';

serveKernelWorker(self as unknown as Parameters<typeof serveKernelWorker>[0]);
