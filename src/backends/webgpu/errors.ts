// Typed errors of the WebGPU backend. core/errors.ts has no GPU codes yet, so shapes or configurations a kernel
// cannot run map to model_invalid and device failures to io; both messages name the op or variant involved.
import { EngineError } from '../../core/errors.ts';

export function unsupported(message: string, tensor?: string): EngineError {
  return new EngineError('model_invalid', `WebGPU: ${message}`, tensor !== undefined ? { tensor } : {});
}

export function gpuFailure(message: string): EngineError {
  return new EngineError('io', `WebGPU: ${message}`);
}
