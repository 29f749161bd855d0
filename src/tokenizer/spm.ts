// SentencePiece BPE as a Hugging Face BPE model. llama.cpp's SPM tokenizer (llm_tokenizer_spm_session) starts
// from single characters and repeatedly joins the adjacent pair whose concatenation is the vocabulary entry
// with the highest score, leftmost first on ties. A merge list with one rank per distinct score, pairs of equal
// score sharing a rank, reproduces that exactly: the HF BPE breaks rank ties by position too.

export interface SpmMerges {
  /** Merges ordered by score (best first), as tokenizer.json stores them. */
  readonly merges: [string, string][];
  /** Rank of each merge: the index of its score among the distinct scores, best first. */
  readonly ranks: readonly number[];
}

/**
 * Every pair (a, b) that llama.cpp could join: a + b is a token, and each side is a single character (the
 * starting symbols, whether in the vocabulary or not) or itself a token (a result of an earlier join).
 */
export function spmMerges(texts: readonly string[], scores: ArrayLike<number>): SpmMerges {
  const ids = new Map<string, number>();
  texts.forEach((t, i) => ids.set(t, i));
  const reachable = (s: string): boolean => ids.has(s) || (s.length <= 2 && [...s].length === 1);
  const found: { a: string; b: string; score: number; id: number }[] = [];
  texts.forEach((t, id) => {
    const chars = [...t];
    let left = '';
    for (let k = 1; k < chars.length; k++) {
      left += chars[k - 1]!;
      const right = t.slice(left.length);
      if (reachable(left) && reachable(right)) found.push({ a: left, b: right, score: scores[id] ?? 0, id });
    }
  });
  found.sort((x, y) => y.score - x.score || x.id - y.id || x.a.length - y.a.length);
  const ranks: number[] = [];
  let rank = -1;
  let last = Number.NaN;
  for (const f of found) {
    if (f.score !== last) {
      rank++;
      last = f.score;
    }
    ranks.push(rank);
  }
  return { merges: found.map((f) => [f.a, f.b]), ranks };
}
