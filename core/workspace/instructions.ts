import { join } from "node:path";
import { appendLocked, writeFileAtomic } from "../base/fsx";

/** `YYYY-MM-DD HH:MM:SS` in local time, as the instruction headers show it. */
export function stamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function instructionsBlock(from: string, body: string, at = new Date()): string {
  return `## Instructions from ${from} (${stamp(at)})\n\n${body.trim()}\n\n`;
}

export function instructionsPath(dir: string): string {
  return join(dir, "instructions.md");
}

/** Start a session's instructions.md with its first block (the file is new, nobody else writes). */
export function writeFirstInstructions(dir: string, from: string, body: string): void {
  writeFileAtomic(instructionsPath(dir), instructionsBlock(from, body));
}

/** Append a block under the file's lock; the orchestrator sees the change and wakes the agent. */
export async function appendInstructions(dir: string, from: string, body: string): Promise<void> {
  await appendLocked(instructionsPath(dir), instructionsBlock(from, body));
}

const HEADER_RE = /^##\s+Instructions from\s+(.+?)\s*(?:\(([^)]*)\))?\s*$/im;

/** Who wrote the first block (`## Instructions from <who> (...)`), if the text says. */
export function instructionsAuthor(text: string): string | undefined {
  const m = HEADER_RE.exec(text);
  return m?.[1]?.trim() || undefined;
}

/** The first paragraph of real text below the headers: a request's one-line summary. */
export function firstLine(text: string, max = 80): string {
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^[#>*\-\s]+/, "").trim();
    if (!line || /^Instructions from\b/i.test(line)) continue;
    return line.length > max ? `${line.slice(0, max - 1)}…` : line;
  }
  return "";
}
