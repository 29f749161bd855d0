// The chat page end to end in Chromium: the embedded model loads in the engine worker, a greedy answer streams
// and equals llama.cpp's text for the same prompt; a broken rules edit shows its line inline; stop/clear work.
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

describe('chat page', () => {
  it('greedy answer from the embedded model equals llama.cpp; rules errors inline', async () => {
    const page = await env.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(env.baseURL);
    await page.click('#load-button');
    await page.waitForFunction(() => !(document.getElementById('chat-input') as HTMLTextAreaElement).disabled, undefined, { timeout: 60_000 });
    expect(await page.locator('#load-status').innerText()).toMatch(/stories260K\.gguf: llama/);
    expect(await page.locator('#rules-name').innerText()).toContain('all-gpu.yaml');
    expect(await page.locator('#plan-summary').textContent()).toMatch(/Plan: GPU/);

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

    await page.click('#rules-panel summary');
    await page.fill('#rules-text', '- match: {name: "^model$"\n  replace: {class: default}\n');
    await page.click('#rules-apply');
    await page.waitForSelector('#rules-error:not([hidden])');
    expect(await page.locator('#rules-error').innerText()).toMatch(/\[rule_invalid\] all-gpu\.yaml:\d+: YAML syntax/);
    await page.screenshot({ path: 'test-results/chat-page.png', fullPage: true });

    await page.click('#clear');
    expect(await page.locator('.msg').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
