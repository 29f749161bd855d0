// The CLI's Node face of the WASM backend (src/cli/node-wasm.ts): a missing kernel build is a typed error that says
// how to build, the default thread count is the physical cores, and a runtime comes up once the build is there.
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNodeWasmRuntime, physicalCores } from '../../../src/cli/node-wasm.ts';
import { EngineError } from '../../../src/core/errors.ts';
import { ensureKernelsBuilt } from './build.ts';

describe('node-wasm', () => {
  it('reports a missing kernel build as an EngineError naming npm run build:wasm, then works once built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ktweb-no-kernels-'));
    const saved = process.env['KTWEB_WASM_OUT'];
    process.env['KTWEB_WASM_OUT'] = empty;
    try {
      const e = await createNodeWasmRuntime({ threads: 0 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(EngineError);
      expect((e as EngineError).message).toMatch(/npm run build:wasm/);
    } finally {
      if (saved === undefined) delete process.env['KTWEB_WASM_OUT'];
      else process.env['KTWEB_WASM_OUT'] = saved;
      await rm(empty, { recursive: true, force: true });
    }
    ensureKernelsBuilt();
    const rt = await createNodeWasmRuntime({ threads: 1 });
    expect(rt.threads).toBe(1);
    await rt.dispose();
  });

  it('defaults to the physical cores', () => {
    const n = physicalCores();
    expect(Number.isInteger(n) && n >= 1 && n <= availableParallelism()).toBe(true);
  });
});
