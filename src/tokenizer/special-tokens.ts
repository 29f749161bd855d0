// llama.cpp recognises end-of-turn, fill-in-the-middle and end-of-generation tokens by their text when the
// GGUF does not name them, and forces such tokens to be control tokens (llama_vocab::impl::load). The same
// rules are applied to tokenizer.json vocabularies so both sources agree on what stops generation.
import { TokenAttr } from './types.ts';

const EOT = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>',
  '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>',
];
const EOM = ['<|eom_id|>'];
const FIM_PRE = ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'];
const FIM_SUF = ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'];
const FIM_MID = ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'];
const FIM_PAD = ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'];
const FIM_REP = ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'];
const FIM_SEP = ['<|file_sep|>'];
const EOG = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>',
  '<|endoftext|>', '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>',
  '<eos>', '<turn|>', '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
];
// gpt-oss: always rendered, so llama.cpp makes them user-defined.
const ALWAYS_USER_DEFINED = ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>'];

export interface KnownSpecials {
  eos: number | null;
  eot: number | null;
  eom: number | null;
  fimPre: number | null;
  fimSuf: number | null;
  fimMid: number | null;
  fimPad: number | null;
  fimRep: number | null;
  fimSep: number | null;
}

export interface DetectedSpecials extends KnownSpecials {
  eog: number[];
}

/**
 * Fills the ids `known` lacks by token text and returns the end-of-generation set; updates `attrs` in place.
 * Where several texts of one list are present, llama.cpp takes whichever its hash map yields first; here the
 * earliest in the list wins, which is deterministic.
 */
export function detectSpecials(ids: ReadonlyMap<string, number>, attrs: Uint16Array, known: KnownSpecials): DetectedSpecials {
  const forceControl = (id: number): void => {
    attrs[id] = attrs[id]! | TokenAttr.CONTROL;
  };
  const find = (current: number | null, texts: readonly string[]): number | null => {
    if (current !== null) return current;
    for (const t of texts) {
      const id = ids.get(t);
      if (id !== undefined) {
        forceControl(id);
        return id;
      }
    }
    return null;
  };
  const out: DetectedSpecials = {
    eos: known.eos,
    eot: find(known.eot, EOT),
    eom: find(known.eom, EOM),
    fimPre: find(known.fimPre, FIM_PRE),
    fimSuf: find(known.fimSuf, FIM_SUF),
    fimMid: find(known.fimMid, FIM_MID),
    fimPad: find(known.fimPad, FIM_PAD),
    fimRep: find(known.fimRep, FIM_REP),
    fimSep: find(known.fimSep, FIM_SEP),
    eog: [],
  };
  // control tokens named like "<unused12>" are marked unused (it changes nothing here but the attributes)
  for (const [t, id] of ids) {
    if (attrs[id]! & TokenAttr.CONTROL && t.includes('unused')) attrs[id] = attrs[id]! | TokenAttr.UNUSED;
  }
  const eog = new Set<number>();
  for (const id of [out.fimPad, out.fimRep, out.fimSep]) if (id !== null) eog.add(id);
  for (const t of EOG) {
    const id = ids.get(t);
    if (id === undefined) continue;
    eog.add(id);
    forceControl(id);
  }
  for (const t of ALWAYS_USER_DEFINED) {
    const id = ids.get(t);
    if (id !== undefined) attrs[id] = TokenAttr.USER_DEFINED;
  }
  for (const id of [out.eos, out.eot, out.eom]) if (id !== null) eog.add(id);
  out.eog = [...eog].sort((a, b) => a - b);
  return out;
}
