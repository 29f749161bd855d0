// Incremental SHA-256 of an import's chunks. Hashing in JS (@noble/hashes, ~130 MB/s here) is as slow as the OPFS
// writes, so the import worker hands each chunk, after writing it, to a second worker over a MessagePort (buffers
// are transferred, not copied) and the two run in parallel. Acks bound the chunks in flight: a hasher slower than
// the disk throttles the copy instead of queueing the whole file in memory.
import { sha256 } from '@noble/hashes/sha256';

export interface ChunkHasher {
  /** Feeds the next chunk. Takes ownership: the chunk's buffer may be transferred away, do not use it after. */
  update(chunk: Uint8Array): Promise<void>;
  /** Lowercase hex digest of everything fed since the last digest(); starts a new hash. */
  digest(): Promise<string>;
}

const MAX_IN_FLIGHT = 3;

type HasherRequest = { readonly type: 'update'; readonly buf: ArrayBuffer } | { readonly type: 'digest' };
type HasherReply = { readonly type: 'ack' } | { readonly type: 'digest'; readonly hex: string };

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class InlineHasher implements ChunkHasher {
  private h = sha256.create();

  update(chunk: Uint8Array): Promise<void> {
    this.h.update(chunk);
    return Promise.resolve();
  }

  digest(): Promise<string> {
    const out = hex(this.h.digest());
    this.h = sha256.create();
    return Promise.resolve(out);
  }
}

export class RemoteHasher implements ChunkHasher {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly digests: Array<(hex: string) => void> = [];

  constructor(private readonly port: MessagePort) {
    port.onmessage = (ev: MessageEvent<HasherReply>) => {
      const m = ev.data;
      if (m.type === 'ack') {
        this.inFlight--;
        this.waiting.shift()?.();
      } else {
        this.digests.shift()?.(m.hex);
      }
    };
  }

  async update(chunk: Uint8Array): Promise<void> {
    while (this.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
    const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
    const buf = whole ? (chunk.buffer as ArrayBuffer) : chunk.slice().buffer;
    const req: HasherRequest = { type: 'update', buf };
    this.port.postMessage(req, [buf]);
  }

  digest(): Promise<string> {
    // Port messages arrive in order, so the reply comes after every chunk sent before it was hashed.
    return new Promise((resolve) => {
      this.digests.push(resolve);
      const req: HasherRequest = { type: 'digest' };
      this.port.postMessage(req);
    });
  }
}

/** The hashing side, run in its own worker. */
export function serveHasher(port: MessagePort): void {
  let h = sha256.create();
  port.onmessage = (ev: MessageEvent<HasherRequest>) => {
    const m = ev.data;
    let reply: HasherReply;
    if (m.type === 'update') {
      h.update(new Uint8Array(m.buf));
      reply = { type: 'ack' };
    } else {
      reply = { type: 'digest', hex: hex(h.digest()) };
      h = sha256.create();
    }
    port.postMessage(reply);
  };
}
