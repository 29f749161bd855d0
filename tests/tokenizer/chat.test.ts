// Chat templates of the real models in data/, rendered for a two-turn conversation and compared with what
// reading each template says it produces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../../src/core/errors.ts';
import { GGUFValueType, type GGUFEntry } from '../../src/gguf/types.ts';
import { chatTemplateFromGGUF, fromGGUFMetadata, renderChat, selectChatTemplate, type ChatMessage } from '../../src/tokenizer/index.ts';
import { readMetadata, SHARED_CONFIGS, TOKENIZERS_DIR, VOCAB_DIR } from './oracle.ts';

function template(path: string): string {
  const cfg = JSON.parse(readFileSync(path, 'utf8')) as { chat_template?: unknown };
  const t = selectChatTemplate(cfg.chat_template);
  if (t === null) throw new Error(`${path} has no chat template`);
  return t;
}

const TWO_TURNS: ChatMessage[] = [
  { role: 'system', content: 'You are helpful.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'How are you?' },
];

describe('chat templates', () => {
  it('Qwen2 (ChatML; this copy was edited upstream to end with "template ends here")', () => {
    const t = template(join(TOKENIZERS_DIR, 'qwen2/tokenizer_config.json'));
    expect(renderChat(t, TWO_TURNS.slice(1), { addGenerationPrompt: true })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\ntemplate ends here',
    );
  });

  it('Qwen3-30B-A3B, with and without thinking, dropping old reasoning', () => {
    const t = template(join(TOKENIZERS_DIR, 'qwen3-30b-a3b/tokenizer_config.json'));
    const expected =
      '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n' +
      '<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n';
    expect(renderChat(t, TWO_TURNS, { addGenerationPrompt: true })).toBe(expected);
    expect(renderChat(t, TWO_TURNS, { addGenerationPrompt: true, enable_thinking: false })).toBe(`${expected}<think>\n\n</think>\n\n`);
    const withReasoning = TWO_TURNS.map((m) => (m.role === 'assistant' ? { ...m, content: '<think>\nlet me think\n</think>\n\nHello!' } : m));
    expect(renderChat(t, withReasoning, { addGenerationPrompt: true })).toBe(expected);
    expect(renderChat(t, TWO_TURNS.slice(0, 2), { addGenerationPrompt: false })).toBe('<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n');
  });

  it('DeepSeek-R1 (V3 architecture)', () => {
    const t = template(join(SHARED_CONFIGS, 'deepseek-r1-v3arch/tokenizer_config.json'));
    const bosToken = '<｜begin▁of▁sentence｜>';
    expect(renderChat(t, TWO_TURNS, { addGenerationPrompt: true, bosToken })).toBe(
      `${bosToken}You are helpful.<｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜User｜>How are you?<｜Assistant｜>`,
    );
    // reasoning in an earlier answer is cut at </think>
    const withReasoning = TWO_TURNS.map((m) => (m.role === 'assistant' ? { ...m, content: 'hmm</think>Hello!' } : m));
    expect(renderChat(t, withReasoning, { addGenerationPrompt: false, bosToken })).toBe(
      `${bosToken}You are helpful.<｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜User｜>How are you?`,
    );
  });

  it('DeepSeek-V3.1, thinking off and on', () => {
    const t = template(join(TOKENIZERS_DIR, 'deepseek-v3.1/tokenizer_config.json'));
    const bosToken = '<｜begin▁of▁sentence｜>';
    const head = `${bosToken}You are helpful.<｜User｜>Hi<｜Assistant｜></think>Hello!<｜end▁of▁sentence｜><｜User｜>How are you?<｜Assistant｜>`;
    expect(renderChat(t, TWO_TURNS, { addGenerationPrompt: true, bosToken })).toBe(`${head}</think>`);
    expect(renderChat(t, TWO_TURNS, { addGenerationPrompt: true, bosToken, thinking: true })).toBe(`${head}<think>`);
  });

  it('renders into ids with the special tokens matched (parseSpecial)', async () => {
    const path = join(VOCAB_DIR, 'ggml-vocab-deepseek-llm.gguf');
    const tok = fromGGUFMetadata(await readMetadata(path), path);
    const t = '{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}{% endfor %}';
    const text = renderChat(t, TWO_TURNS.slice(1, 3), { bosToken: tok.tokenText(tok.bos!), eosToken: tok.tokenText(tok.eos!) });
    const ids = tok.encode(text, { addSpecial: false, parseSpecial: true });
    expect(ids[0]).toBe(tok.bos);
    expect(ids.filter((id) => id === tok.eos)).toHaveLength(2);
    expect(tok.encode(text, { addSpecial: false })).not.toContain(tok.eos);
  });

  it('reports a template that does not parse as model_invalid, and raise_exception as bad_argument', () => {
    const err = (f: () => unknown): EngineError => {
      try {
        f();
      } catch (e) {
        if (e instanceof EngineError) return e;
        throw e;
      }
      throw new Error('no error');
    };
    const syntax = err(() => renderChat('{% for m in messages %}{{ m.content }', []));
    expect(syntax.code).toBe('model_invalid');
    expect(syntax.message).toMatch(/chat template does not parse/);
    const raised = err(() => renderChat("{{ raise_exception('Conversation roles must alternate') }}", []));
    expect(raised.code).toBe('bad_argument');
    expect(raised.message).toMatch(/roles must alternate/);
  });

  it('picks templates from tokenizer_config and GGUF forms', () => {
    expect(selectChatTemplate('x')).toBe('x');
    expect(selectChatTemplate([{ name: 'tool_use', template: 't' }, { name: 'default', template: 'd' }])).toBe('d');
    expect(selectChatTemplate([{ name: 'tool_use', template: 't' }, { name: 'default', template: 'd' }], 'tool_use')).toBe('t');
    expect(selectChatTemplate({ default: 'd', rag: 'r' })).toBe('d');
    expect(selectChatTemplate(null)).toBe(null);
    const md = new Map<string, GGUFEntry>([
      ['tokenizer.chat_template', { type: GGUFValueType.STRING, value: 'main' }],
      ['tokenizer.chat_template.rag', { type: GGUFValueType.STRING, value: 'rag' }],
    ]);
    expect(chatTemplateFromGGUF(md)).toBe('main');
    expect(chatTemplateFromGGUF(md, 'rag')).toBe('rag');
    expect(chatTemplateFromGGUF(new Map())).toBe(null);
  });
});
