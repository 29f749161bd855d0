// Conversation → prompt tokens: the model's chat template when it has one (rendered with jinja, control
// tokens parsed), else the plain text with BOS. llama.cpp's rule for BOS: add it only if the template did not.
import { renderChat, type ChatMessage, type Tokenizer } from '../tokenizer/index.ts';

export function promptTokens(tok: Tokenizer, template: string | null, messages: readonly ChatMessage[], raw: boolean): number[] {
  if (template === null || raw) return tok.encode(messages.map((m) => m.content ?? '').join('\n'), { addSpecial: true });
  const bosText = tok.bos !== null ? tok.tokenText(tok.bos) : '';
  const text = renderChat(template, messages, { addGenerationPrompt: true, bosToken: bosText, eosToken: tok.eos !== null ? tok.tokenText(tok.eos) : '' });
  const addSpecial = !(bosText !== '' && text.startsWith(bosText));
  return tok.encode(text, { addSpecial, parseSpecial: true });
}
