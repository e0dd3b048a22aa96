import { readSync } from "node:fs";
import { join } from "node:path";
import { appendLocked, readJson, writeFileAtomic, writeJsonAtomic } from "../base/fsx";

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

/**
 * Append a block under the file's lock, in one write, never reading or rewriting what is there
 * (see appendLocked: a file that cannot be appended to safely is refused with an AppendError and
 * left as it is). The orchestrator sees the change and wakes the agent. Answers the block's size.
 */
export async function appendInstructions(dir: string, from: string, body: string): Promise<number> {
  const block = instructionsBlock(from, body);
  await appendLocked(instructionsPath(dir), block);
  return Buffer.byteLength(block);
}

/**
 * Where each once-only block was appended (`{ "<mark>": byte offset }`), beside instructions.md:
 * a dot file, so listings and the agent's view of the dir leave it out.
 */
export const SENT_MARKS = ".instructions-sent.json";

/** Past the block's own length, how far after its recorded offset a mark is looked for. */
const MARK_SLACK_BYTES = 64 * 1024;

/**
 * Append a block that says `mark` at most once, however often this is repeated (a pass that
 * repeats it after a crash tells once). Bounded whatever instructions.md's size: the offset each
 * mark was appended at is recorded (before the write, under the lock) in SENT_MARKS, and a repeat
 * looks for the mark only there. A record whose block never landed (a crash between the two
 * writes) is written again. Answers whether the block was appended now.
 */
export async function appendInstructionsOnce(dir: string, from: string, body: string, mark: string): Promise<boolean> {
  const block = instructionsBlock(from, body);
  if (!block.includes(mark)) throw new Error(`the block does not say its mark "${mark}"`);
  const sentPath = join(dir, SENT_MARKS);
  const window = Buffer.byteLength(block) + MARK_SLACK_BYTES;
  const at = await appendLocked(instructionsPath(dir), block, (fd, size) => {
    const sent = readJson<Record<string, unknown>>(sentPath) ?? {};
    const prev = sent[mark];
    if (typeof prev === "number" && prev < size && holds(fd, prev, Math.min(size, prev + window), mark)) return false;
    writeJsonAtomic(sentPath, { ...sent, [mark]: size });
    return true;
  });
  return at >= 0;
}

/** Whether bytes `[start, end)` of the open file hold `mark`. */
function holds(fd: number, start: number, end: number, mark: string): boolean {
  const buf = Buffer.allocUnsafe(end - start);
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, start + off);
    if (n <= 0) break;
    off += n;
  }
  return buf.subarray(0, off).includes(mark);
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
