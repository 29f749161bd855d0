// Whole models on the page's WebGPU device: the Playwright test hands a GGUF URL and a prompt to
// window.__ktwebModels.run(); the page streams the weights onto the GPU (loadWeights, no weights callback),
// prefills the prompt, then decodes greedily with the GPU's argmax. It returns the tokens and every step's logits
// (base64 f32) for the test to compare with cpu-ref in Node.
import { requestGpuContext, type GpuContext } from '../../src/backends/webgpu/device.ts';
import { WebGpuExecutor } from '../../src/backends/webgpu/executor.ts';
import { viteShaderLibrary } from '../../src/backends/webgpu/shaders-vite.ts';
import { mdString } from '../../src/gguf/metadata.ts';
import { openGGUF } from '../../src/gguf/model.ts';
import { makeModel } from '../../src/models/model.ts';
import { architecture } from '../../src/models/registry.ts';
import { BlobSource } from '../../src/storage/blob-source.ts';

export interface ModelRun {
  readonly tokens: number[];
  /** Prefill logits [nVocab, prompt], then one [nVocab] per decode step; base64 of f32 little-endian. */
  readonly logits: string[];
  readonly loadedBytes: number;
  readonly ms: number;
}

export interface ModelsPage {
  ready: boolean;
  device?: string;
  fatal?: string;
  run(url: string, prompt: number[], decode: number, nCtx: number): Promise<ModelRun>;
}

declare global {
  interface Window {
    __ktwebModels: ModelsPage;
  }
}

const status = document.getElementById('status')!;
const log = document.getElementById('log')!;
let gpu: GpuContext | undefined;

function b64(v: Float32Array): string {
  const u8 = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

async function run(url: string, prompt: number[], decode: number, nCtx: number): Promise<ModelRun> {
  const t0 = performance.now();
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const gguf = await openGGUF(new BlobSource(await res.blob(), url));
  const arch = architecture(mdString(gguf.metadata, 'general.architecture', url), url);
  const model = makeModel(arch, gguf.metadata, url, (n) => gguf.tensors.get(n)?.info.dims);
  const ex = new WebGpuExecutor(
    gpu!,
    (n) => {
      throw new Error(`weight ${n} was not loaded ahead`);
    },
    { nCtx, shaders: viteShaderLibrary(), poison: true },
  );
  try {
    const step1 = model.build({ nTokens: 1, allLogits: false });
    let loadedBytes = 0;
    await ex.loadWeights(
      step1,
      async (n) => {
        const { info } = gguf.tensor(n);
        return { type: info.type, dims: info.dims, bytes: await gguf.readTensor(n) };
      },
      (b) => (loadedBytes += b),
    );
    await gguf.close();
    const prefill = model.build({ nTokens: prompt.length, allLogits: true });
    const pre = { tokens: Int32Array.from(prompt), positions: Int32Array.from(prompt, (_, i) => i) };
    const logits = [b64(await ex.run(prefill, pre))];
    const tokens = [(await ex.runArgmax(prefill, pre))[prompt.length - 1]!];
    for (let s = 0; s < decode; s++) {
      const inp = { tokens: Int32Array.of(tokens[tokens.length - 1]!), positions: Int32Array.of(prompt.length + s) };
      logits.push(b64(await ex.run(step1, inp)));
      tokens.push((await ex.runArgmax(step1, inp))[0]!);
    }
    const ms = performance.now() - t0;
    log.textContent += `${url}: ${tokens.join(',')} (${ms.toFixed(0)} ms)\n`;
    return { tokens, logits, loadedBytes, ms };
  } finally {
    ex.destroy();
  }
}

window.__ktwebModels = { ready: false, run };

async function main(): Promise<void> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (adapter === null || adapter === undefined) throw new Error('no WebGPU adapter (start Chromium with --enable-unsafe-webgpu)');
  gpu = await requestGpuContext(adapter);
  window.__ktwebModels.device = gpu.caps.description;
  status.textContent = `ready on ${gpu.caps.description}`;
}

main()
  .catch((e: unknown) => {
    window.__ktwebModels.fatal = e instanceof Error ? e.message : String(e);
    status.textContent = `error: ${window.__ktwebModels.fatal}`;
  })
  .finally(() => {
    window.__ktwebModels.ready = true;
  });
