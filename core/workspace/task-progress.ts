import { readSmallText } from "../base/read-small";

/**
 * Task progress (done / total) for dashboards over many sessions. core/tasks.ts parses with
 * mdast, which costs ~30 ms to load and a few hundred µs per file: fine for one session, too
 * slow for `team status` over thousands. Most tasks.md files are the plain shape agents are
 * told to write, so those are counted by a line scanner; anything the scanner cannot judge
 * exactly as mdast would (indentation, code, HTML, inline markup) goes to the full parser.
 */
export interface TaskProgress {
  done: number;
  total: number;
  complete: boolean;
  problem?: string;
}

/** Same cap as core/tasks.ts MAX_TASKS_BYTES (a test keeps them equal; importing it would load mdast). */
const MAX_TASKS_BYTES = 512 * 1024;

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
const TASK_TITLE = /^task\s*:/i;

function isCompleted(raw: string): boolean {
  const s = raw.trim().toLowerCase().replace(/[-\s]+/g, " ").replace(/[.!]+$/, "").trim();
  return s === "completed";
}

/**
 * Count tasks of a plain tasks.md line by line, exactly as parseTasks would; undefined as soon
 * as a line could mean something else to a Markdown parser.
 */
export function scanPlainTasks(markdown: string): { done: number; total: number } | undefined {
  let total = 0;
  let done = 0;
  let inTask = false;
  let status: string | undefined;
  const finish = () => {
    if (inTask && status !== undefined && isCompleted(status)) done++;
  };
  for (const raw of markdown.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (BLANK.test(line)) continue;
    if (line[0] === "#") {
      const h = HEADING.exec(line);
      const text = (h?.[2] ?? "").trim();
      if (!h || !SAFE_HEADING_TEXT.test(text)) return undefined;
      if (h[1]!.length >= 2 && TASK_TITLE.test(text)) {
        finish();
        inTask = true;
        status = undefined;
        total++;
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
    if (inTask && status === undefined && value !== undefined) status = value;
  }
  finish();
  return { done, total };
}

export function readTaskProgress(path: string): TaskProgress {
  // Missing or oversized files go to the full reader too: it says what is wrong with them.
  const text = readSmallText(path, MAX_TASKS_BYTES, { whole: true });
  const quick = text === undefined ? undefined : scanPlainTasks(text);
  if (quick) return { ...quick, complete: quick.total > 0 && quick.done === quick.total };
  // Loaded only when needed: the full parser pulls in mdast.
  const { readTasks } = require("./tasks") as typeof import("./tasks");
  const s = readTasks(path);
  return { done: s.done, total: s.total, complete: s.complete, ...(s.problem ? { problem: s.problem } : {}) };
}
