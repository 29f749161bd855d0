// Typed errors of the WebGPU backend: an op or a shape no kernel can run is `unsupported_op` (placement can move
// it to the CPU), a device that went away is `device_lost` (only a new device and executor recover), other
// GPU failures (pipeline compilation, validation) are `io`. Messages name the op, tensor or variant involved.
import { EngineError } from '../../core/errors.ts';

export function unsupported(message: string, tensor?: string): EngineError {
  return new EngineError('unsupported_op', `WebGPU: ${message}`, tensor !== undefined ? { tensor } : {});
}

export function deviceLost(reason: string): EngineError {
  return new EngineError('device_lost', `WebGPU: the device was lost (${reason}); create a new device and executor`);
}

export function gpuFailure(message: string): EngineError {
  return new EngineError('io', `WebGPU: ${message}`);
}

/** A graph this backend was handed that no backend could run as given (wrong sources, shapes changed). */
export function graphInvalid(message: string): EngineError {
  return new EngineError('model_invalid', `WebGPU: ${message}`);
}
