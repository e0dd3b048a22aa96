import { readRange } from "../base/read-text";

export const FIRST_PROMPT = "Start working on your assigned tasks";

/**
 * At most this much of new instructions goes into a resume prompt: one argv string may not pass
 * 128 KB (E2BIG), so a longer block is pointed to rather than copied.
 */
const MAX_NEWS_BYTES = 64 * 1024;

/**
 * What an agent is told when its turn starts: the fixed first prompt, or on a resume only the
 * part of instructions.md it has not been handed yet (`offset` … `size`, from tracker.json).
 */
export function turnPrompt(instructionsFile: string, first: boolean, offset: number, size: number): string {
  if (first) return FIRST_PROMPT;
  const end = Math.min(size, offset + MAX_NEWS_BYTES);
  // argv cannot carry NUL bytes: drop them.
  let news = "";
  try {
    news = size > offset ? readRange(instructionsFile, offset, end).toString("utf8").replace(/\0/g, "").trim() : "";
  } catch {} // a symlink (never followed) or a file gone: nothing new to hand over
  if (!news) return "Your previous run was interrupted. Continue working on your assigned tasks.";
  if (end < size) {
    return `New instructions were added to your instructions.md (${Math.ceil((size - offset) / 1024)} KB, more than fits here: read them all there, from byte ${offset} on). They begin:\n\n${news}`;
  }
  return `New instructions were added to your instructions.md:\n\n${news}`;
}
