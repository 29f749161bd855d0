// The page opens a real GGUF through the file chooser: BlobSource reads only header ranges of the File.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowser, type BrowserEnv } from './browser.ts';

let env: BrowserEnv;
beforeAll(async () => {
  env = await startBrowser();
});
afterAll(async () => {
  await env.close();
});

describe('inspector page in Chromium', () => {
  it('is cross-origin isolated and shows the tensors of a picked GGUF', async () => {
    const page = await env.context.newPage();
    await page.goto(`${env.baseURL}/inspect.html`);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    await page.setInputFiles('#file', join('models', 'stories260K.gguf'));
    await page.waitForSelector('#summary:not([hidden])');
    const rows = await page.locator('#tensors tbody tr').count();
    expect(rows).toBe(48);
    expect(await page.locator('#metadata').innerText()).toContain('llama.block_count');
    await page.screenshot({ path: 'test-results/inspector.png', fullPage: false });
  });

  it('shows a one-line typed error for a file that is not GGUF', async () => {
    const page = await env.context.newPage();
    await page.goto(`${env.baseURL}/inspect.html`);
    await page.setInputFiles('#file', { name: 'notes.gguf', mimeType: 'application/octet-stream', buffer: Buffer.from('hello, this is not a model file at all') });
    await page.waitForSelector('#status.error');
    expect(await page.locator('#status').innerText()).toMatch(/^error \[gguf_invalid\] not a GGUF file/);
  });
});
