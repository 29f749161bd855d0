// comlink Endpoint over a Node-style port (worker_threads Worker / parentPort: on/off/postMessage), as comlink's
// node-adapter does; kept here because that adapter ships without types. Takes the port as a plain interface,
// so this file imports nothing from Node.
import type { Endpoint } from 'comlink';

export interface NodeStylePort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  off(event: 'message', listener: (data: unknown) => void): unknown;
}

type Listener = EventListenerOrEventListenerObject;

export function nodeStyleEndpoint(port: NodeStylePort): Endpoint {
  const listeners = new WeakMap<Listener, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: Transferable[]) => port.postMessage(message, transfer),
    addEventListener: (_type: string, h: Listener) => {
      const l = (data: unknown): void => {
        const ev = { data } as MessageEvent;
        if ('handleEvent' in h) h.handleEvent(ev);
        else h(ev);
      };
      port.on('message', l);
      listeners.set(h, l);
    },
    removeEventListener: (_type: string, h: Listener) => {
      const l = listeners.get(h);
      if (l === undefined) return;
      port.off('message', l);
      listeners.delete(h);
    },
  };
}
