/**
 * tasks.md parsing: what agents actually write (mixed case, both bold styles, junk, code
 * fences), what is complete, and files too large to judge.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_TASKS_BYTES, normalizeStatus, parseTasks, parseTasksWithMdast, readTasks, scanPlainTasks, summarize, taskBlock } from "../core/workspace/tasks";

const dir = mkdtempSync(join(tmpdir(), "cw-tasks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string | Uint8Array): string {
  const p = join(dir, `tasks-${++n}.md`);
  writeFileSync(p, content);
  return p;
}

const summary = (md: string) => summarize(parseTasks(md));

describe("statuses", () => {
  test("any case, dashes or spaces, trailing punctuation", () => {
    const md = [
      "## Task: A",
      "- **Status**: Completed",
      "",
      "## Task: B",
      "- **Status**: IN PROGRESS",
      "",
      "## Task: C",
      "- **Status**: in-progress",
      "",
      "## Task: D",
      "- **Status**: Blocked.",
      "",
      "## Task: E",
      "- **Status**: `pending`",
      "",
      "## Task: F",
      "- **Status**: In_Progress",
      "",
    ].join("\n");
    expect(parseTasks(md)).toEqual([
      { title: "A", status: "completed" },
      { title: "B", status: "in progress" },
      { title: "C", status: "in progress" },
      { title: "D", status: "blocked" },
      { title: "E", status: "pending" },
      { title: "F", status: "unknown" },
    ]);
  });

  test("the `**Status:** x` and plain `Status: x` variants", () => {
    const md = "## Task: One\n- **Status:** completed\n\n## Task: Two\nStatus: completed\n\n### Task: Three\n* **status** : COMPLETED\n";
    expect(parseTasks(md)).toEqual([
      { title: "One", status: "completed" },
      { title: "Two", status: "completed" },
      { title: "Three", status: "completed" },
    ]);
    expect(summary(md).complete).toBe(true);
  });

  test("unknown words, a missing status line, and only the first status counts", () => {
    expect(normalizeStatus("done")).toBe("unknown");
    expect(normalizeStatus("  COMPLETED!! ")).toBe("completed");
    const md = "## Task: No status\nJust text.\n\n## Task: Two lines\n- **Status**: pending\n- **Status**: completed\n";
    expect(parseTasks(md)).toEqual([
      { title: "No status", status: "unknown" },
      { title: "Two lines", status: "pending" },
    ]);
  });

  test("a task's status is not taken from the next task", () => {
    const md = "## Task: A\n\n## Task: B\n- **Status**: completed\n";
    expect(parseTasks(md)).toEqual([
      { title: "A", status: "unknown" },
      { title: "B", status: "completed" },
    ]);
    expect(summary(md).complete).toBe(false);
  });
});

describe("completion", () => {
  test("no tasks is not complete", () => {
    for (const md of ["", "# Tasks for x\n\nNothing yet.\n", "# Task: top-level heading is not a task\n- **Status**: completed\n"]) {
      const s = summary(md);
      expect(s.total).toBe(0);
      expect(s.complete).toBe(false);
    }
  });

  test("one pending task is not complete", () => {
    const s = summary(`# Tasks\n\n${taskBlock("Do it")}`);
    expect(s).toMatchObject({ total: 1, done: 0, complete: false });
  });

  test("all completed is complete; one still open is not", () => {
    const all = `# Tasks\n\n${taskBlock("A", "completed")}${taskBlock("B", "completed", "Notes under the task.\n\n- a list\n- **Status**: pending (inside notes, after the first status)")}`;
    expect(summary(all)).toMatchObject({ total: 2, done: 2, complete: true });
    const open = `${all}${taskBlock("C", "blocked")}`;
    expect(summary(open)).toMatchObject({ total: 3, done: 2, complete: false });
  });

  test("readTasks: a missing file is not complete and says why", () => {
    const s = readTasks(join(dir, "missing.md"));
    expect(s.complete).toBe(false);
    expect(s.problem).toContain("missing");
  });
});

describe("hostile content", () => {
  test("garbage, binary and NUL bytes never throw", () => {
    const bytes = new Uint8Array(64 * 1024);
    let x = 12345;
    for (let i = 0; i < bytes.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      bytes[i] = x >>> 24;
    }
    const p = file(bytes);
    expect(() => readTasks(p)).not.toThrow();
    expect(readTasks(p).complete).toBe(false);

    const withNul = `## Task: A\0B\n- **Status**: completed\0\n\0\0\0## Task: \0\n- **Status**: \uFFFD\n`;
    expect(() => parseTasks(withNul)).not.toThrow();
    expect(summary(withNul).complete).toBe(false);
    const nulOnly = file("\0".repeat(10_000));
    expect(readTasks(nulOnly)).toMatchObject({ total: 0, complete: false });

    for (const junk of ["```", "~~~\n## Task: x", "<!--", "[", "## Task:", "##Task: x\n- **Status**: completed", "\r\n\r\n", "#".repeat(10_000)]) {
      expect(() => parseTasks(junk)).not.toThrow();
    }
  });

  test("Windows line endings still parse", () => {
    expect(parseTasks("## Task: A\r\n- **Status**: completed\r\n")).toEqual([{ title: "A", status: "completed" }]);
  });

  test("a task heading inside a fenced code block is not a task", () => {
    const md = [
      "## Task: Real",
      "- **Status**: completed",
      "",
      "An example of the format:",
      "",
      "```markdown",
      "## Task: Example inside a fence",
      "- **Status**: pending",
      "```",
      "",
      "~~~",
      "## Task: Tilde fence",
      "- **Status**: pending",
      "~~~",
      "",
      "````md",
      "```",
      "## Task: Inside a longer fence, after a shorter backtick line",
      "- **Status**: pending",
      "````",
      "",
    ].join("\n");
    expect(parseTasks(md)).toEqual([{ title: "Real", status: "completed" }]);
    expect(summary(md).complete).toBe(true);
  });

  test("a CRLF file with a task heading inside a fence: the fenced one is not a task, and the list completes", () => {
    const md = ["# Tasks", "", "## Task: Real", "- **Status**: completed", "", "Example:", "", "```markdown", "## Task: Example", "- **Status**: pending", "```", ""].join("\r\n");
    expect(parseTasks(md)).toEqual([{ title: "Real", status: "completed" }]);
    expect(readTasks(file(md))).toMatchObject({ total: 1, done: 1, complete: true });
  });

  test("a task inside an HTML comment does not count, on one line or over several", () => {
    const md = [
      "## Task: Real",
      "- **Status**: completed",
      "",
      "<!-- ## Task: One-line comment -->",
      "",
      "<!--",
      "## Task: Commented out",
      "- **Status**: pending",
      "-->",
      "",
      "<!-- a comment that opens here",
      "",
      "## Task: Still in the comment",
      "- **Status**: pending",
      "",
      "and closes here -->",
      "",
      "## Task: After the comments",
      "- **Status**: completed",
      "",
    ].join("\n");
    expect(parseTasks(md)).toEqual([
      { title: "Real", status: "completed" },
      { title: "After the comments", status: "completed" },
    ]);
    expect(parseTasks(md.replaceAll("\n", "\r\n")).map((t) => t.title)).toEqual(["Real", "After the comments"]);
  });

  test("headings inside other HTML blocks, list items and blockquotes are not cut out as tasks", () => {
    const md = [
      "## Task: Real",
      "- **Status**: completed",
      "",
      "<div>",
      "## Task: Inside a div",
      "</div>",
      "",
      "<pre>",
      "",
      "## Task: Inside pre, after a blank line",
      "</pre>",
      "",
      "- ```",
      "  ## Task: In a fence in a list item",
      "  ```",
      "",
      "> ## Task: Quoted",
      "",
      "```",
      "\t```",
      "## Task: Still fenced (a tab-indented line closes nothing)",
      "```",
      "",
    ].join("\n");
    expect(parseTasks(md)).toEqual([{ title: "Real", status: "completed" }]);
  });

  test("a status line inside a fence is not the task's status", () => {
    const md = "## Task: A\n\n```\n- **Status**: completed\n```\n";
    expect(parseTasks(md)).toEqual([{ title: "A", status: "unknown" }]);
  });

  test("a file over the cap is not complete and carries a problem", () => {
    const block = taskBlock("Done already", "completed");
    const big = block.repeat(Math.ceil((MAX_TASKS_BYTES + 1024) / block.length));
    expect(big.length).toBeGreaterThan(MAX_TASKS_BYTES);
    const s = readTasks(file(big));
    expect(s.complete).toBe(false);
    expect(s.problem).toMatch(/larger than/);
    // Just under the cap it is judged normally.
    const under = block.repeat(Math.floor((MAX_TASKS_BYTES - 1024) / block.length));
    expect(readTasks(file(under))).toMatchObject({ complete: true });
  });

  test("a symlinked tasks.md is not followed", () => {
    const real = file(taskBlock("A", "completed"));
    const link = join(dir, "link.md");
    require("node:fs").symlinkSync(real, link);
    expect(readTasks(link).complete).toBe(false);
  });
});

describe("scale", () => {
  test("5,000 tasks parse correctly", () => {
    let md = "# Tasks\n\n";
    for (let i = 0; i < 5000; i++) md += taskBlock(`Task number ${i}`, i % 2 ? "completed" : "in progress", i % 10 === 0 ? `Notes for ${i}:\n\n\`\`\`\n## Task: fenced ${i}\n\`\`\`` : "");
    const tasks = parseTasks(md);
    expect(tasks).toHaveLength(5000);
    expect(tasks[0]).toEqual({ title: "Task number 0", status: "in progress" });
    expect(tasks[4999]).toEqual({ title: "Task number 4999", status: "completed" });
    expect(tasks.filter((t) => t.status === "completed")).toHaveLength(2500);
    expect(tasks.every((t, i) => t.title === `Task number ${i}`)).toBe(true);
    const done = md.replaceAll("**Status**: in progress", "**Status**: completed");
    expect(summarize(parseTasks(done))).toMatchObject({ total: 5000, done: 5000, complete: true });
  }, 30_000);
});

describe("one parser: the line scanner and mdast", () => {
  test("the line scanner agrees with mdast wherever it answers", () => {
    const pieces = [
      "", "# Tasks for x", "## Task: Build it", "### task: lower", "# Task: top", "## Notes", "- **Status**: completed",
      "- **Status**: in progress", "**Status:** Completed.", "Status: completed", "status : completed", "- Status: completed",
      "* **Status**: pending", "+ item", "some text", "  indented", "    code", "```", "---", "===", "> quote",
      "1. Status: completed", "- **Status**: `completed`", "text with _under_ score", "<div>", "## Task: a `code` title",
      "- [ ] box", "Task: not heading", "- ", "#nospace", "##", "- **Status**:", "- **Status**: Completed!",
      "- **Status**: in-progress", "\tTab", "a & b", "**Status**: blocked", "- - -", "***", "Title\r", "<!--", "-->",
      "## Task: x\r", "a\rb", "## Task: nul\0",
    ];
    const safe = pieces.filter((p) => scanPlainTasks(p) !== undefined);
    expect(safe.length).toBeGreaterThan(15);
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    let answered = 0;
    for (let i = 0; i < 3000; i++) {
      const from = i % 2 ? safe : pieces;
      const md = Array.from({ length: 1 + rnd(12) }, () => from[rnd(from.length)]).join(i % 3 ? "\n" : "\r\n");
      const full = parseTasksWithMdast(md);
      expect({ md, tasks: parseTasks(md) }).toEqual({ md, tasks: full });
      const quick = scanPlainTasks(md);
      if (!quick) continue;
      answered++;
      expect({ md, tasks: quick }).toEqual({ md, tasks: full });
    }
    expect(answered).toBeGreaterThan(1000);
  });

  test("readTasks says why a file cannot be judged: missing, over the cap, not a regular file", () => {
    expect(readTasks(join(dir, "missing.md")).problem).toBe("tasks.md is missing");
    const big = file(`## Task: big\n- **Status**: completed\n${"x".repeat(MAX_TASKS_BYTES)}\n`);
    expect(readTasks(big).problem).toBe("tasks.md is larger than 512 KB; split it or trim finished tasks");
    expect(readTasks(dir).problem).toBe("tasks.md is not a regular file");
    const fancy = file("## Task: `fancy`\n\n  - **Status**: completed\n\n```\n## Task: in code\n```\n");
    expect(readTasks(fancy)).toMatchObject({ total: 1, done: 1, complete: true });
  });
});
