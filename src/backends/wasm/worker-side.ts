// The kernel worker's side of the pool (entry points in src/workers/ only pick the endpoint): instantiate the
// module over the shared memory with a private stack, then run we_worker_main, which returns only at quit.
import { expose, type Endpoint } from 'comlink';
import { Ctl, kernelExports, type KernelExports } from './abi.ts';
import type { KernelWorkerApi } from './runtime.ts';

export function serveKernelWorker(endpoint: Endpoint): void {
  let k: KernelExports | undefined;
  let mem: WebAssembly.Memory | undefined;
  const api: KernelWorkerApi = {
    init(module, memory, stackTop) {
      k = kernelExports(new WebAssembly.Instance(module, { env: { memory } }));
      k.__stack_pointer.value = stackTop;
      mem = memory;
    },
    start(ctl, ith) {
      // after comlink has answered: the loop blocks this worker's event loop for good
      setTimeout(() => {
        try {
          k?.we_worker_main(ctl, ith);
        } catch {
          // A trap: the other threads would wait at the next barrier forever, so abort the pool. The runtime sees
          // ABORT and rejects the run with a typed error; rethrowing here would only surface later as an uncaught
          // worker error, possibly after the pool was disposed.
          const i32 = new Int32Array(mem!.buffer);
          Atomics.store(i32, ctl / 4 + Ctl.ABORT, 1);
          Atomics.notify(i32, ctl / 4 + Ctl.BAR_GEN);
          Atomics.notify(i32, ctl / 4 + Ctl.RUN_SEQ);
          Atomics.notify(i32, ctl / 4 + Ctl.DONE_SEQ);
        }
      }, 0);
    },
  };
  expose(api, endpoint);
}
