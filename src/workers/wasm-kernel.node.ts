// Node entry of a WASM kernel worker (worker_threads): serves the pool over comlink on parentPort.
import { parentPort } from 'node:worker_threads';
import { nodeStyleEndpoint } from '../backends/wasm/node-endpoint.ts';
import { serveKernelWorker } from '../backends/wasm/worker-side.ts';

if (parentPort === null) throw new Error('wasm-kernel.node.ts must run as a worker_threads worker');
serveKernelWorker(nodeStyleEndpoint(parentPort));
