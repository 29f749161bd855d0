// Shared set-up for browser tests: a Vite dev server (with the COOP/COEP headers of vite.config.ts) and Debian's
// Chromium driven by playwright-core. Never downloads a browser; flags from DESIGN.md §6.
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

export const CHROMIUM = process.env['KTWEB_CHROMIUM'] ?? '/usr/bin/chromium';

export interface BrowserEnv {
  readonly baseURL: string;
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function startBrowser(): Promise<BrowserEnv> {
  // No HMR and no file watcher: a test writes models into the served tree, and an edit elsewhere must not reload
  // a page in the middle of a test.
  const server: ViteDevServer = await createServer({ configFile: 'vite.config.ts', server: { port: 0, host: '127.0.0.1', hmr: false, watch: null }, logLevel: 'error' });
  await server.listen();
  const addr = server.httpServer?.address();
  if (addr === null || addr === undefined || typeof addr === 'string') throw new Error('vite did not start');
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    // playwright gives every launch a fresh temporary profile (DESIGN.md §6 asks for a new user-data-dir)
  });
  const context = await browser.newContext();
  return {
    baseURL: `http://127.0.0.1:${addr.port}`,
    context,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
