// `ktweb serve`: OpenAI-compatible answers (plain and streamed) equal the CLI's greedy answer; bad requests get
// OpenAI-shaped 400 errors; the server keeps serving after them.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let proc: ChildProcess;
let base = '';

beforeAll(async () => {
  proc = spawn('node', ['bin/ktweb.mjs', 'serve', '--gguf-path', 'models/stories260K.gguf', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  base = await new Promise<string>((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /on (http:\/\/[\d.]+:\d+\/v1)/.exec(err);
      if (m !== null) resolve(m[1]!);
    });
    proc.on('exit', () => reject(new Error(`server exited: ${err}`)));
  });
});
afterAll(() => {
  proc.kill('SIGINT');
});

const post = (body: unknown): Promise<Response> => fetch(`${base}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('ktweb serve', () => {
  it('answers plain and streamed requests identically (greedy)', async () => {
    const req = { messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 40, temperature: 0 };
    const plain = (await (await post(req)).json()) as { choices: { message: { content: string }; finish_reason: string }[]; usage: { completion_tokens: number } };
    expect(plain.usage.completion_tokens).toBe(40);
    expect(plain.choices[0]!.finish_reason).toBe('length');
    const res = await post({ ...req, stream: true });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: '));
    expect(events[events.length - 1]).toBe('data: [DONE]');
    const text = events.slice(0, -1).map((e) => (JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]!.delta.content ?? '').join('');
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(text.startsWith(', there was a little girl named Lily')).toBe(true);
    const models = (await (await fetch(`${base}/models`)).json()) as { data: { id: string }[] };
    expect(models.data[0]!.id).toContain('stories260K');
  });

  it('bad requests get 400 with an OpenAI-shaped error', async () => {
    for (const body of [{ messages: 'hi' }, { messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      const j = (await r.json()) as { error: { type: string; code: string; message: string } };
      expect(j.error.type).toBe('invalid_request_error');
      expect(j.error.code).toBe('bad_argument');
    }
    const r = await fetch(`${base}/chat/completions`, { method: 'POST', body: '{not json' });
    expect(r.status).toBe(400);
    expect((await post({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 })).status).toBe(200);
  });
});
