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

/**
 * The prompt of a run that cannot continue the agent's conversation (see planConversation): it
 * says so, and hands over the whole instructions.md, since nothing it was told before is known
 * to the new conversation.
 */
export function freshStartPrompt(instructionsFile: string, size: number, why: string): string {
  const end = Math.min(size, MAX_NEWS_BYTES);
  const all = size > 0 ? readRange(instructionsFile, 0, end).toString("utf8").replace(/\0/g, "").trim() : "";
  const head = `This is a fresh start: your earlier conversation cannot be continued (${why}), so you remember nothing of it. Read your tasks.md to see what is already done, then continue working on your assigned tasks.`;
  if (!all) return head;
  if (end < size) return `${head}\n\nEverything you were told is in your instructions.md (${Math.ceil(size / 1024)} KB, more than fits here: read it all there). It begins:\n\n${all}`;
  return `${head}\n\nEverything you were told so far (your whole instructions.md):\n\n${all}`;
}
