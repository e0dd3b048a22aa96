import { fromMarkdown } from "mdast-util-from-markdown";
import { lstatOrUndefined, readTextCapped } from "../base/fsx";

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
  /** Set when the file could not be judged (too large, unreadable): never counts as complete. */
  problem?: string;
}

/** Past this size a tasks.md is not parsed: judging completion from a prefix could be wrong. */
export const MAX_TASKS_BYTES = 512 * 1024;

const TASK_HEADING = /^task\s*:\s*(.*)$/i;
const STATUS_LINE = /^status\s*:?\s*(.*)$/i;

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

type Node = { type: string; value?: string; depth?: number; children?: Node[] };

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
 * Split before each line that could be a task heading, outside fenced code. mdast's cost grows
 * faster than linearly with the number of blocks in one document, so each section is parsed on
 * its own: a file of thousands of tasks stays linear.
 */
function sections(markdown: string): string[] {
  const lines = markdown.split("\n");
  const out: string[] = [];
  let start = 0;
  // The open fence: a closing one is the same character, at least as long, with nothing after.
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const f = /^\s{0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (f) {
      const run = f[1]!;
      if (!fence) {
        if (run[0] === "~" || !f[2]!.includes("`")) fence = run;
      } else if (run[0] === fence[0] && run.length >= fence.length && !f[2]!.trim()) {
        fence = undefined;
      }
      continue;
    }
    if (!fence && i > start && /^\s{0,3}#{2,6}\s+task\s*:/i.test(line)) {
      out.push(lines.slice(start, i).join("\n"));
      start = i;
    }
  }
  out.push(lines.slice(start).join("\n"));
  return out;
}

function parseSection(markdown: string, tasks: Task[]): void {
  let tree: Node;
  try {
    tree = fromMarkdown(markdown) as unknown as Node;
  } catch {
    return;
  }
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

/** `## Task: <title>` headings, each with its first `**Status**: <status>` line below it. */
export function parseTasks(markdown: string): Task[] {
  const tasks: Task[] = [];
  for (const section of sections(markdown)) parseSection(section, tasks);
  return tasks;
}

export function summarize(tasks: Task[], problem?: string): TaskSummary {
  const done = tasks.filter((t) => t.status === "completed").length;
  return {
    tasks,
    done,
    total: tasks.length,
    complete: !problem && tasks.length > 0 && done === tasks.length,
    ...(problem ? { problem } : {}),
  };
}

export function readTasks(path: string): TaskSummary {
  const st = lstatOrUndefined(path);
  if (st?.isFile() && st.size > MAX_TASKS_BYTES) {
    return summarize([], `tasks.md is larger than ${MAX_TASKS_BYTES / 1024} KB; split it or trim finished tasks`);
  }
  const text = readTextCapped(path, MAX_TASKS_BYTES);
  if (text === undefined) return summarize([], "tasks.md is missing or unreadable");
  return summarize(parseTasks(text));
}

export function taskBlock(title: string, status: TaskStatus = "pending", body = ""): string {
  return `## Task: ${title}\n- **Status**: ${status}\n${body ? `\n${body.trim()}\n` : ""}\n`;
}
