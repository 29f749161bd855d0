export type { Tokenizer, EncodeOptions, DecodeOptions, StreamDecoder, PieceStyle } from './types.ts';
export { TokenAttr } from './types.ts';
export { fromTokenizerJson } from './tokenizer.ts';
export { fromGGUFMetadata, readGGUFVocab, ggufTokenizerJson, SUPPORTED_TOKENIZER_MODELS, type GGUFVocab } from './gguf.ts';
export { preTokenizerSpec, byteLevelPreTokenizerJson, SUPPORTED_PRE_TOKENIZERS, type PreTokenizerSpec } from './pre-tokenizers.ts';
export { renderChat, compileChatTemplate, selectChatTemplate, chatTemplateFromGGUF, type ChatMessage, type RenderChatOptions } from './chat-template.ts';
export { toByteLevel } from './byte-level.ts';
export type { TokenizerJson, TokenizerConfigJson, AddedTokenJson } from './tokenizer-json.ts';
