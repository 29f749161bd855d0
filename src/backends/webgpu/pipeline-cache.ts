// Compute pipelines keyed by variant name (`mul_mat_vec_q4_k_f32_sg`, house style §9.3), which is also the
// debug label. Layouts are explicit (one letter per binding: r = read-only storage, w = read-write storage,
// u = uniform) so bind groups can be built before the pipeline has compiled.
import { gpuFailure } from './errors.ts';
import { preprocessWgsl, type Defines, type ShaderLibrary } from './wgsl-pre.ts';
import { ShaderStage } from './gpu-flags.ts';

export interface KernelSpec {
  /** Pipeline-cache key and label: `<op>_<src0type>_<src1type>[_flag…]`. */
  readonly variant: string;
  /** Skeleton path under shaders/. */
  readonly shader: string;
  readonly defines?: Defines;
  /** One letter per binding in binding order: r, w or u. */
  readonly layout: string;
  /** Emit `enable subgroups;` */
  readonly subgroups?: boolean;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, { src: string; p: Promise<GPUComputePipeline> }>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();

  constructor(
    private readonly device: GPUDevice,
    private readonly lib: ShaderLibrary,
  ) {}

  bindGroupLayout(sig: string): GPUBindGroupLayout {
    let l = this.layouts.get(sig);
    if (l === undefined) {
      const type = (c: string): GPUBufferBindingType => (c === 'u' ? 'uniform' : c === 'w' ? 'storage' : 'read-only-storage');
      l = this.device.createBindGroupLayout({
        label: `layout_${sig}`,
        entries: [...sig].map((c, binding) => ({ binding, visibility: ShaderStage.COMPUTE, buffer: { type: type(c) } })),
      });
      this.layouts.set(sig, l);
    }
    return l;
  }

  /** WGSL of a kernel (for tests and debugging). */
  source(k: KernelSpec): string {
    return preprocessWgsl(this.lib, k.shader, k.defines ?? {}, k.subgroups === true ? ['subgroups'] : []);
  }

  get(k: KernelSpec): Promise<GPUComputePipeline> {
    const hit = this.pipelines.get(k.variant);
    const src = this.source(k);
    if (hit !== undefined) {
      if (hit.src !== src) throw gpuFailure(`variant ${k.variant} names two different shaders; the variant key must include every define`);
      return hit.p;
    }
    const p = this.compile(k, src);
    this.pipelines.set(k.variant, { src, p });
    return p;
  }

  private async compile(k: KernelSpec, code: string): Promise<GPUComputePipeline> {
    const module = this.device.createShaderModule({ label: k.variant, code });
    try {
      return await this.device.createComputePipelineAsync({
        label: k.variant,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.bindGroupLayout(k.layout)] }),
        compute: { module, entryPoint: 'main' },
      });
    } catch (e) {
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`).join('; ');
      throw gpuFailure(`pipeline ${k.variant} failed: ${e instanceof Error ? e.message : String(e)}${msgs !== '' ? ` (${msgs})` : ''}`);
    }
  }

  get size(): number {
    return this.pipelines.size;
  }
}
