/**
 * tasks.md: `## Task: <title>` headings, each with its first `**Status**: <status>` line below it.
 * One parser behind parseTasks/readTasks. Most files are the plain shape agents are told to
 * write, and a line scanner counts those exactly as a Markdown parser would (dashboards read
 * thousands of them); anything it cannot judge that way (indentation, code, HTML, inline markup)
 * goes to mdast, which is loaded only then (~30 ms to load, a few hundred µs per file).
 */
import { describeReadError, readTextOrWhy } from "../base/read-text";

export type TaskStatus = "pending" | "in progress" | "blocked" | "completed" | "unknown";
export interface Task {
  title: string;
  status: TaskStatus;
}
export interface TaskSummary {
  tasks: Task[];
  done: number;
  total: number;
  /** At least one task and every task completed. */
  complete: boolean;
  /** Set when the file could not be judged (missing, too large, unreadable): never complete. */
  problem?: string;
}

/** Past this size a tasks.md is not parsed: judging completion from a prefix could be wrong. */
export const MAX_TASKS_BYTES = 512 * 1024;

export function normalizeStatus(raw: string): TaskStatus {
  const s = raw
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, "")
    .replace(/[-\s]+/g, " ")
    .replace(/[.!]+$/, "")
    .trim();
  if (s === "pending" || s === "in progress" || s === "blocked" || s === "completed") return s;
  return "unknown";
}

const TASK_HEADING = /^task\s*:\s*([^]*)$/i;
const STATUS_LINE = /^status\s*:?\s*(.*)$/i;

/** The tasks of a tasks.md text. */
export function parseTasks(markdown: string): Task[] {
  return scanPlainTasks(markdown) ?? parseTasksWithMdast(markdown);
}

export function summarize(tasks: Task[], problem?: string): TaskSummary {
  let done = 0;
  for (const t of tasks) if (t.status === "completed") done++;
  return {
    tasks,
    done,
    total: tasks.length,
    complete: !problem && tasks.length > 0 && done === tasks.length,
    ...(problem ? { problem } : {}),
  };
}

/** A session's tasks.md, read whole (never a prefix: see MAX_TASKS_BYTES) or not at all. */
export function readTasks(path: string): TaskSummary {
  const text = readTextOrWhy(path, MAX_TASKS_BYTES, { whole: true });
  if (typeof text !== "string") {
    const why = text.failure === "too-large" ? `${describeReadError(text, MAX_TASKS_BYTES)}; split it or trim finished tasks` : describeReadError(text);
    return summarize([], `tasks.md ${why}`);
  }
  return summarize(parseTasks(text));
}

export function taskBlock(title: string, status: TaskStatus = "pending", body = ""): string {
  return `## Task: ${title}\n- **Status**: ${status}\n${body ? `\n${body.trim()}\n` : ""}\n`;
}

// ---------------------------------------------------------------- the line scanner

const BLANK = /^[ \t]*$/;
const HEADING = /^(#{1,6})(?: +(.*))?$/;
const SAFE_HEADING_TEXT = /^[^#*_`\\<>[\]&~|]*$/;
const LIST_MARKER = /^[-*+] +(.*)$/;
/** An ordered item is a list or a paragraph line depending on what precedes it: not judged here. */
const ORDERED_MARKER = /^\d{1,9}[.)]/;
/** `**Status**: x` or `**Status:** x`: the forms agents are told to use. */
const BOLD_STATUS = /^\*\*status(?:\*\*\s*:|\s*:\*\*)\s*(.*)$/i;
/** A paragraph line mdast would keep as the same plain text. */
const PLAIN = /^[A-Za-z0-9(][^*_`\\<>[\]&~|]*$/;
const PLAIN_STATUS = /^status\s*:\s*(.*)$/i;

/**
 * The tasks of a plain tasks.md, line by line, exactly as mdast would find them; undefined as
 * soon as a line could mean something else to a Markdown parser.
 */
export function scanPlainTasks(markdown: string): Task[] | undefined {
  // mdast turns NUL into U+FFFD, and a lone CR ends a line: neither is judged here.
  if (markdown.includes("\0")) return undefined;
  const tasks: Task[] = [];
  let current: { title: string; status?: string } | undefined;
  const flush = () => {
    if (current) tasks.push({ title: current.title, status: normalizeStatus(current.status ?? "") });
  };
  for (const raw of markdown.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.includes("\r")) return undefined;
    if (BLANK.test(line)) continue;
    if (line[0] === "#") {
      const h = HEADING.exec(line);
      const text = (h?.[2] ?? "").trim();
      if (!h || !SAFE_HEADING_TEXT.test(text)) return undefined;
      const m = h[1]!.length >= 2 ? TASK_HEADING.exec(text) : null;
      if (m) {
        flush();
        current = { title: m[1]!.trim() };
      }
      continue;
    }
    if (ORDERED_MARKER.test(line)) return undefined;
    const body = LIST_MARKER.exec(line)?.[1] ?? line;
    let value: string | undefined;
    const bold = BOLD_STATUS.exec(body);
    if (bold) {
      if (!PLAIN.test(bold[1]!) && bold[1]!.trim() !== "") return undefined;
      value = bold[1]!;
    } else {
      if (!PLAIN.test(body)) return undefined;
      value = PLAIN_STATUS.exec(body.trim())?.[1];
    }
    if (current && current.status === undefined && value !== undefined) current.status = value;
  }
  flush();
  return tasks;
}

// ---------------------------------------------------------------- the Markdown parser

type Node = { type: string; value?: string; depth?: number; children?: Node[] };
type FromMarkdown = (markdown: string) => unknown;
let fromMarkdown: FromMarkdown | undefined;

function plainText(node: Node): string {
  if (node.type === "text" || node.type === "inlineCode") return node.value ?? "";
  if (node.type === "break") return "\n";
  return (node.children ?? []).map(plainText).join("");
}

function findStatus(node: Node): string | undefined {
  if (node.type === "paragraph") {
    for (const line of plainText(node).split("\n")) {
      const m = STATUS_LINE.exec(line.trim());
      if (m && /^status\s*:/i.test(line.trim().replace(/\*/g, ""))) return m[1];
    }
    return undefined;
  }
  for (const child of node.children ?? []) {
    const found = findStatus(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Where an HTML block that begins on this line ends (CommonMark's seven kinds, conservatively):
 * its end marker, looked for only after the opener, or a blank line.
 */
function htmlBlockEnd(line: string): { end: RegExp; after: number } | "blank" | undefined {
  const m = /^ {0,3}</.exec(line);
  if (!m) return undefined;
  const at = m[0].length - 1;
  const l = line.slice(at);
  const tag = /^<(?:script|pre|style|textarea)(?=[ \t>]|$)/i.exec(l);
  if (tag) return { end: /<\/(?:script|pre|style|textarea)>/i, after: at + tag[0].length };
  if (l.startsWith("<!--")) return { end: /-->/, after: at + 4 };
  if (l.startsWith("<?")) return { end: /\?>/, after: at + 2 };
  if (l.startsWith("<![CDATA[")) return { end: /\]\]>/, after: at + 9 };
  if (/^<![A-Za-z]/.test(l)) return { end: />/, after: at + 2 };
  // Kinds 6 and 7 end at a blank line; so does any other line that starts with "<" (it may be
  // plain text to mdast: then not cutting there only costs speed).
  return "blank";
}

/**
 * Cut before each `## Task:` line that mdast would certainly read as a top-level heading, so
 * each piece is parsed on its own: mdast's cost grows faster than linearly with the blocks of one
 * document, and a file of thousands of tasks must stay linear. Not cutting is always safe (only
 * slower); cutting inside a fence, an HTML block or a container would make a phantom task. So a
 * cut is made only at a line starting in column 0 (nothing indented: no list item or blockquote
 * continues through it), outside any fence or HTML block, and only where every line break is LF
 * or CRLF (a lone CR is a line break to mdast, not to this scan).
 */
function sections(markdown: string): string[] {
  const lines = markdown.split("\n");
  if (lines.some((l) => l.indexOf("\r") >= 0 && l.indexOf("\r") < l.length - 1)) return [markdown];
  const out: string[] = [];
  let start = 0;
  // The open fence: a closing one is the same character, at least as long, with only spaces after.
  let fence: string | undefined;
  let html: RegExp | "blank" | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith("\r") ? lines[i]!.slice(0, -1) : lines[i]!;
    if (html) {
      if (html === "blank" ? BLANK.test(line) : html.test(line)) html = undefined;
      continue;
    }
    const f = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (f) {
      const run = f[1]!;
      if (!fence) {
        if (run[0] === "~" || !f[2]!.includes("`")) fence = run;
      } else if (run[0] === fence[0] && run.length >= fence.length && /^[ \t]*$/.test(f[2]!)) {
        fence = undefined;
      }
      continue;
    }
    if (fence) continue;
    const block = htmlBlockEnd(line);
    if (block) {
      // It may end on its own first line (`<!-- note -->`).
      if (block === "blank") html = "blank";
      else if (!block.end.test(line.slice(block.after))) html = block.end;
      continue;
    }
    if (i > start && /^#{2,6}[ \t]+task[ \t]*:/i.test(line)) {
      out.push(lines.slice(start, i).join("\n"));
      start = i;
    }
  }
  out.push(lines.slice(start).join("\n"));
  return out;
}

type Positioned = Node & { position?: { start: { line: number }; end: { line: number } } };

function parse(markdown: string): Positioned | undefined {
  try {
    fromMarkdown ??= (require("mdast-util-from-markdown") as typeof import("mdast-util-from-markdown")).fromMarkdown as FromMarkdown;
    return fromMarkdown(markdown) as Positioned;
  } catch {
    return undefined;
  }
}

/**
 * Whether a piece's last block may still be open where the piece was cut, and so swallow the
 * `## Task:` line that follows it in the whole file: an unclosed fence, or an HTML block not
 * shown to have ended. Only those two can: a column-0 heading closes every other block.
 */
function openAtEnd(tree: Positioned, lines: string[]): boolean {
  const last = tree.children?.at(-1) as Positioned | undefined;
  if (!last?.position) return false;
  const { start, end } = last.position;
  const lineAt = (n: number) => (lines[n - 1] ?? "").replace(/\r$/, "");
  if (last.type === "code") {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(lineAt(start.line));
    if (!open) return false; // indented code: ended by any column-0 line
    const close = end.line > start.line ? /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lineAt(end.line)) : null;
    return !(close && close[1]![0] === open[1]![0] && close[1]!.length >= open[1]!.length);
  }
  if (last.type === "html") {
    // A blank line after it ends every kind.
    for (let n = end.line + 1; n <= lines.length; n++) if (BLANK.test(lineAt(n))) return false;
    const kind = htmlBlockEnd(lineAt(start.line));
    if (!kind || kind === "blank") return true;
    const tail = end.line === start.line ? lineAt(end.line).slice(kind.after) : lineAt(end.line);
    return !kind.end.test(tail);
  }
  return false;
}

function collect(tree: Positioned, tasks: Task[]): void {
  let current: { title: string; status?: string } | undefined;
  const flush = () => {
    if (current) tasks.push({ title: current.title, status: normalizeStatus(current.status ?? "") });
  };
  for (const node of tree.children ?? []) {
    if (node.type === "heading" && (node.depth ?? 0) >= 2) {
      const m = TASK_HEADING.exec(plainText(node).trim());
      if (m) {
        flush();
        current = { title: m[1]!.trim() };
        continue;
      }
    }
    if (current && current.status === undefined) {
      const s = findStatus(node);
      if (s !== undefined) current.status = s;
    }
  }
  flush();
}

/** After this many pieces glued back together in a row, the rest is parsed in one go. */
const MAX_GLUED = 8;

/**
 * The tasks as mdast reads them (parseTasks without the line scanner; tests compare the two).
 * Each piece of `sections` is parsed alone; one whose last block may still be open at the cut is
 * glued to the next piece and parsed again, so a cut the line scan got wrong never makes a task.
 */
export function parseTasksWithMdast(markdown: string): Task[] {
  const tasks: Task[] = [];
  const pieces = sections(markdown);
  for (let k = 0; k < pieces.length; k++) {
    let text = pieces[k]!;
    let tree = parse(text);
    for (let glued = 0; tree && k + 1 < pieces.length && openAtEnd(tree, text.split("\n")); glued++) {
      text = glued < MAX_GLUED ? `${text}\n${pieces[++k]}` : [text, ...pieces.slice(k + 1)].join("\n");
      if (glued >= MAX_GLUED) k = pieces.length - 1;
      tree = parse(text);
    }
    // Unparsable (it never happens, but then): a task that is never complete, not none.
    if (!tree) tasks.push({ title: "(tasks.md could not be parsed)", status: "unknown" });
    else collect(tree, tasks);
  }
  return tasks;
}
