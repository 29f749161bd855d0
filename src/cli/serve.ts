// `ktweb serve`: an OpenAI-compatible HTTP server on the same LocalEngine (POST /v1/chat/completions with or
// without `stream`, GET /v1/models). Requests are answered one at a time (queued); a client that disconnects
// stops its generation. Errors are OpenAI-shaped: {error: {message, type, code}}.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import type { ChatCompletionRequest } from '../api/types.ts';
import { EngineError, isEngineError } from '../core/errors.ts';
import { addEngineOptions, loadEngine, type EngineCliOptions } from './engine-options.ts';

const MAX_BODY = 8 << 20;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function fail(res: ServerResponse, e: unknown): void {
  const ee = isEngineError(e) ? e : undefined;
  const status = ee === undefined ? 500 : ee.code === 'bad_argument' || ee.code === 'model_invalid' ? 400 : 500;
  if (res.headersSent) {
    res.end();
    return;
  }
  send(res, status, { error: { message: ee?.message ?? (e instanceof Error ? e.message : String(e)), type: status === 400 ? 'invalid_request_error' : 'server_error', code: ee?.code ?? 'internal' } });
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new EngineError('bad_argument', `request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new EngineError('bad_argument', 'request body is not valid JSON');
  }
}

function request(j: unknown): ChatCompletionRequest & { stream: boolean } {
  const o = j as Record<string, unknown> | null;
  if (o === null || typeof o !== 'object' || !Array.isArray(o['messages'])) throw new EngineError('bad_argument', 'messages: expected an array of {role, content}');
  for (const m of o['messages'] as unknown[]) {
    const mm = m as Record<string, unknown> | null;
    if (mm === null || typeof mm !== 'object' || typeof mm['role'] !== 'string' || (typeof mm['content'] !== 'string' && mm['content'] !== null)) {
      throw new EngineError('bad_argument', 'each message needs a string role and a string content');
    }
  }
  const num = (k: string): number | undefined => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new EngineError('bad_argument', `${k}: expected a number`);
    return v;
  };
  const maxTokens = num('max_tokens') ?? num('max_completion_tokens');
  return {
    messages: o['messages'] as ChatCompletionRequest['messages'],
    stream: o['stream'] === true,
    ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
    ...(num('temperature') !== undefined ? { temperature: num('temperature')! } : {}),
    ...(num('top_p') !== undefined ? { top_p: num('top_p')! } : {}),
    ...(num('top_k') !== undefined ? { top_k: num('top_k')! } : {}),
    ...(num('min_p') !== undefined ? { min_p: num('min_p')! } : {}),
    ...(num('seed') !== undefined ? { seed: num('seed')! } : {}),
    ...(num('repetition_penalty') !== undefined ? { repetition_penalty: num('repetition_penalty')! } : {}),
  };
}

export function registerServe(program: Command): void {
  addEngineOptions(program.command('serve').description('OpenAI-compatible HTTP server (POST /v1/chat/completions, GET /v1/models)'))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', '8080')
    .action(async (o: EngineCliOptions & { host: string; port: string }) => {
      const { engine, info } = await loadEngine(o);
      let queue: Promise<void> = Promise.resolve();
      const server = createServer((req, res) => {
        const url = req.url ?? '/';
        if (req.method === 'GET' && url === '/v1/models') {
          send(res, 200, { object: 'list', data: [{ id: info.name, object: 'model', created: 0, owned_by: 'ktweb' }] });
          return;
        }
        if (req.method !== 'POST' || url !== '/v1/chat/completions') {
          send(res, 404, { error: { message: `no route ${req.method ?? ''} ${url}`, type: 'invalid_request_error', code: 'not_found' } });
          return;
        }
        const job = async (): Promise<void> => {
          const abort = new AbortController();
          res.on('close', () => abort.abort());
          try {
            const r = request(await body(req));
            if (!r.stream) {
              send(res, 200, await engine.complete(r, abort.signal));
              return;
            }
            res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
            for await (const c of engine.stream(r, abort.signal)) res.write(`data: ${JSON.stringify(c)}\n\n`);
            res.end('data: [DONE]\n\n');
          } catch (e) {
            fail(res, e);
          }
        };
        queue = queue.then(job, job);
      });
      await new Promise<void>((resolve) => server.listen(Number(o.port), o.host, resolve));
      const addr = server.address() as AddressInfo;
      process.stderr.write(`ktweb serve: ${info.name} on http://${o.host}:${addr.port}/v1 (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => server.close(() => resolve())));
      await engine.unload();
    });
}
