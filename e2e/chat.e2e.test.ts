// The chat page end to end in Chromium: a model imported through the file chooser loads in the engine worker
// (device auto: SwiftShader is a software adapter, so the all-CPU rules on the WASM kernels), a greedy answer
// streams and equals llama.cpp's text for the same prompt; the engine panel shows the backend, the wasm memory and
// the placement; a broken rules edit shows its line inline; clear works; the model survives a reload; delete.
// The MoE model on the GPU, hybrid and edited rules: chat-moe.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Token } from 'node-llama-cpp';
import { llamaGreedy, loadLlamaModel } from '../tests/helpers/llama-oracle.ts';
import { startBrowser, type BrowserEnv } from './browser.ts';

let env: BrowserEnv;
beforeAll(async () => {
  env = await startBrowser();
});
afterAll(async () => {
  await env.close();
});

const loaded = async (page: import('playwright-core').Page): Promise<void> => {
  await page.waitForFunction(() => !(document.getElementById('chat-input') as HTMLTextAreaElement).disabled, undefined, { timeout: 60_000 });
};

describe('chat page', () => {
  it('imported model: greedy answer equals llama.cpp; still there after a reload; delete removes it; rules errors inline', async () => {
    const page = await env.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    await page.goto(env.baseURL);
    await page.setInputFiles('#file-input', 'models/stories260K.gguf');
    await page.waitForFunction(() => /imported stories260K/.test(document.getElementById('load-status')!.textContent ?? ''), undefined, { timeout: 60_000 });
    expect(await page.locator('#model-select option:checked').innerText()).toMatch(/stories260K.* \(1\.1\d MiB\)/);
    await page.click('#load-button');
    await loaded(page);
    expect(await page.locator('#load-status').innerText()).toMatch(/stories260K\.gguf: llama/);
    // Chromium here has only SwiftShader: the page says so and device auto runs everything on the WASM kernels.
    expect(await page.locator('#webgpu-note').isVisible()).toBe(true);
    expect(await page.locator('#webgpu-note').innerText()).toMatch(/software one \(.*swiftshader.*\).*all-CPU rules \(all-cpu\.yaml\)/i);
    expect(await page.locator('#rules-name').textContent()).toContain('all-cpu.yaml');
    expect(await page.locator('#plan-summary').textContent()).toMatch(/^Plan for all-cpu\.yaml: 0 modules with weights on the GPU, \d+ on the CPU/);
    expect(await page.locator('#engine-backend').innerText()).toMatch(/^WASM (relaxed|simd128|scalar) ×\d+ threads$/);
    expect(await page.locator('#engine-memory').innerText()).toMatch(/GPU: not used · wasm memory 1: \d+\.\d MiB/);
    expect(await page.locator('#engine-placement').getAttribute('data-gpu')).toBe('0');

    await page.fill('#chat-input', 'Once upon a time');
    await page.press('#chat-input', 'Enter');
    await page.waitForFunction(() => /decode \d+ tokens/.test(document.getElementById('stats')!.textContent ?? ''), undefined, { timeout: 60_000 });
    const answer = await page.locator('.msg.assistant').last().innerText();

    const oracle = await loadLlamaModel('models/stories260K.gguf');
    const prompt = [oracle.tokens.bos!, ...oracle.tokenize('Once upon a time')] as number[];
    const ids = await llamaGreedy(oracle, prompt, 256);
    const eos = ids.indexOf(oracle.tokens.eos as number);
    const expected = oracle.detokenize((eos >= 0 ? ids.slice(0, eos) : ids) as Token[]);
    await oracle.dispose();
    expect(answer).toBe(expected);
    expect(await page.locator('#engine-step').innerText()).toMatch(/one device runs everything/);

    await page.click('#rules-panel summary');
    await page.fill('#rules-text', '- match: {name: "^model$"\n  replace: {class: default}\n');
    await page.click('#rules-apply');
    await page.waitForSelector('#rules-error:not([hidden])');
    expect(await page.locator('#rules-error').innerText()).toMatch(/\[rule_invalid\] all-cpu\.yaml:\d+: YAML syntax/);
    expect(await page.locator('#chat-input').isDisabled()).toBe(false); // a rejected edit leaves the model loaded
    await page.screenshot({ path: 'test-results/chat-page.png', fullPage: true });

    await page.click('#clear');
    expect(await page.locator('.msg').count()).toBe(0);

    // Reload: the imported model is still listed and loads from OPFS.
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#model-select option').length === 2);
    await page.selectOption('#model-select', { index: 1 });
    await page.click('#load-button');
    await loaded(page);
    expect(await page.locator('#load-status').innerText()).toMatch(/stories260K\.gguf: llama/);
    await page.click('#delete-button');
    await page.waitForFunction(() => /deleted stories260K/.test(document.getElementById('load-status')!.textContent ?? ''));
    expect(await page.locator('#model-select option').count()).toBe(1);
    expect(errors).toEqual([]);
  });
});
