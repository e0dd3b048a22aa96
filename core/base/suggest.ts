/**
 * "Did you mean …": how far a typed word is from the ones that exist. Used for commands, options
 * and session names alike, so a typo is answered the same way everywhere.
 */

/**
 * Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`. A swap counts as one
 * edit: `strat` is one slip away from `start`, not two.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  // Three rows of the optimal-string-alignment table: the one before last is needed for swaps.
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      cur[j] = d;
    }
    before = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The candidates the user probably meant by `typed`, best first: the same word in another case,
 * a word it is the start of, or one within a slip per three letters. Empty when nothing is close.
 */
export function didYouMean(typed: string, candidates: Iterable<string>, max = 3): string[] {
  const q = typed.toLowerCase();
  const scored: Array<{ word: string; score: number }> = [];
  for (const word of candidates) {
    const w = word.toLowerCase();
    let score: number;
    if (w === q) score = 0;
    else if (q.length >= 2 && w.startsWith(q)) score = 0.5;
    else {
      const d = editDistance(q, w);
      if (d > Math.max(1, Math.floor(q.length / 3))) continue;
      score = d;
    }
    scored.push({ word, score });
  }
  scored.sort((x, y) => x.score - y.score || (x.word < y.word ? -1 : 1));
  const best = scored[0]?.score;
  return scored.filter((s) => s.score === best || s.score <= 1).slice(0, max).map((s) => s.word);
}

/** `` `a` ``, `` `a` or `b` ``, `` `a`, `b` or `c` ``. */
export function orList(words: string[], quote = (w: string) => `\`${w}\``): string {
  const q = words.map(quote);
  return q.length <= 1 ? (q[0] ?? "") : `${q.slice(0, -1).join(", ")} or ${q.at(-1)}`;
}
