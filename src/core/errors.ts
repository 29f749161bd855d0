// Typed errors of the engine. Every error a user can cause carries a code, says what is wrong and what to do,
// and (for files) where: the file, the byte offset and what was being read. Errors cross worker boundaries as
// plain {name, code, message, details} and are rehydrated with `engineErrorFromJSON`.
export type ErrorCode =
  | 'gguf_invalid' // malformed GGUF bytes
  | 'gguf_truncated' // the file ends before what the header promises
  | 'gguf_unsupported_version'
  | 'unsupported_quant' // a ggml type id we cannot compute on (or do not know)
  | 'bad_argument' // CLI / API argument that is wrong
  | 'io' // the file system or a Blob refused a read or write
  | 'model_invalid' // a GGUF that parses but does not describe a model we can build
  | 'rule_invalid' // a placement rule file that is wrong (file:line in the message)
  | 'out_of_memory' // a plan that does not fit the devices at hand
  | 'device_lost' // the GPU device went away (driver reset, tab in background, destroy()); a new one is needed
  | 'unsupported_op'; // an op, or an op's shape, that a backend has no kernel for

export interface ErrorDetails {
  readonly file?: string;
  readonly offset?: number | bigint;
  readonly reading?: string;
  readonly tensor?: string;
  readonly key?: string;
}

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }

  /** One line for a terminal: `[code] message (file, at byte N, reading X)`. */
  oneLine(): string {
    const d = this.details;
    const where: string[] = [];
    if (d.file !== undefined) where.push(d.file);
    if (d.offset !== undefined) where.push(`at byte ${d.offset.toString()}`);
    if (d.reading !== undefined) where.push(`reading ${d.reading}`);
    return `error [${this.code}] ${this.message}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
  }

  toJSON(): { name: string; code: ErrorCode; message: string; details: ErrorDetails } {
    const details = { ...this.details, offset: this.details.offset?.toString() } as ErrorDetails;
    return { name: this.name, code: this.code, message: this.message, details };
  }
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof EngineError;
}

export function engineErrorFromJSON(j: { code: ErrorCode; message: string; details?: ErrorDetails }): EngineError {
  return new EngineError(j.code, j.message, j.details ?? {});
}
