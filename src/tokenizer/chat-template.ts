// Chat templates: the Jinja source a model ships (tokenizer.chat_template in a GGUF, chat_template in
// tokenizer_config.json) rendered with @huggingface/jinja, the renderer transformers.js uses.
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { EngineError } from '../core/errors.ts';
import type { Metadata } from '../gguf/metadata.ts';

export interface ChatMessage {
  readonly role: string;
  readonly content: string | null;
  /** Other fields templates read: tool_calls, reasoning_content, name, prefix, ... */
  readonly [key: string]: unknown;
}

export interface RenderChatOptions {
  /** End with the header that opens the assistant's turn. Default false. */
  readonly addGenerationPrompt?: boolean;
  /** Text of BOS/EOS as templates print them (`{{ bos_token }}`); default ''. */
  readonly bosToken?: string;
  readonly eosToken?: string;
  /** Anything else is passed to the template under its own name (tools, enable_thinking, thinking, ...). */
  readonly [key: string]: unknown;
}

class TemplateRaised extends Error {}

const compiled = new Map<string, Template>();

/** Parses a template once; a syntax error is the model's fault. */
export function compileChatTemplate(source: string): Template {
  let t = compiled.get(source);
  if (t === undefined) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new EngineError('model_invalid', `the chat template does not parse: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (compiled.size >= 16) compiled.delete(compiled.keys().next().value!);
    compiled.set(source, t);
  }
  return t;
}

/**
 * The globals Template.render would set up, with raise_exception throwing an error of its own: the library's
 * throws a plain Error that cannot be told apart from a broken template, and its environment refuses to
 * redeclare the name.
 */
function globalEnvironment(): Environment {
  const env = new Environment();
  const consts: [string, unknown][] = [
    ['false', false], ['true', true], ['none', null], ['False', false], ['True', true], ['None', null],
  ];
  for (const [k, v] of consts) env.set(k, v);
  env.set('raise_exception', (msg: unknown) => {
    throw new TemplateRaised(String(msg));
  });
  env.set('range', (start: number, stop?: number, step = 1): number[] => {
    if (stop === undefined) [start, stop] = [0, start];
    if (step === 0) throw new Error('range() step must not be zero');
    const out: number[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
    return out;
  });
  env.set('strftime_now', (format: string) => strftime(new Date(), format));
  return env;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The strftime directives chat templates use for "today's date" (Llama 3.x): %Y %m %d %b %B %H %M %%. */
function strftime(d: Date, format: string): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return format.replace(/%[YmdbBHM%]/g, (t) => {
    switch (t) {
      case '%Y': return String(d.getFullYear());
      case '%m': return pad(d.getMonth() + 1);
      case '%d': return pad(d.getDate());
      case '%b': return MONTHS[d.getMonth()]!.slice(0, 3);
      case '%B': return MONTHS[d.getMonth()]!;
      case '%H': return pad(d.getHours());
      case '%M': return pad(d.getMinutes());
      default: return '%';
    }
  });
}

/** Renders `messages` with a chat template. */
export function renderChat(template: string, messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
  const { addGenerationPrompt, bosToken, eosToken, ...extra } = options;
  const t = compileChatTemplate(template);
  const items: Record<string, unknown> = {
    ...extra,
    messages,
    add_generation_prompt: addGenerationPrompt ?? false,
    bos_token: bosToken ?? '',
    eos_token: eosToken ?? '',
  };
  try {
    const env = globalEnvironment();
    for (const [k, v] of Object.entries(items)) {
      if (v !== undefined && !env.variables.has(k)) env.set(k, v);
    }
    const out = new Interpreter(env).run(t.parsed).value;
    return typeof out === 'string' ? out : String(out);
  } catch (e) {
    if (e instanceof TemplateRaised) throw new EngineError('bad_argument', `the chat template rejects these messages: ${e.message}`);
    throw new EngineError('model_invalid', `the chat template failed to render: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The template named `name` (default 'default') from a tokenizer_config.json `chat_template` value: a string,
 * a list of {name, template}, or a name → template map. A lone named template is used whatever its name.
 */
export function selectChatTemplate(value: unknown, name = 'default'): string | null {
  if (typeof value === 'string') return value;
  let named: [string, string][] = [];
  if (Array.isArray(value)) {
    named = value.flatMap((e: unknown) => {
      const o = e as { name?: unknown; template?: unknown } | null;
      return typeof o?.name === 'string' && typeof o.template === 'string' ? [[o.name, o.template] as [string, string]] : [];
    });
  } else if (value !== null && typeof value === 'object') {
    named = Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v] as [string, string]] : []));
  }
  const hit = named.find(([n]) => n === name);
  if (hit !== undefined) return hit[1];
  return named.length === 1 && name === 'default' ? named[0]![1] : null;
}

/** tokenizer.chat_template (or tokenizer.chat_template.NAME) of a GGUF. */
export function chatTemplateFromGGUF(md: Metadata, name?: string): string | null {
  const v = md.get(name === undefined || name === 'default' ? 'tokenizer.chat_template' : `tokenizer.chat_template.${name}`)?.value;
  return typeof v === 'string' ? v : null;
}
