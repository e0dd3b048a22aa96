/**
 * The simulated agent behind `demo`: one short, deterministic "Claude turn" in a session dir.
 * It prints stream-json like `claude -p --output-format stream-json --verbose` (init, assistant
 * text and tool calls, tool results, a result line with cost and usage) and does real work in the
 * workspace through the same files a real agent uses, so the orchestrator cannot tell the
 * difference:
 *
 * - engineering-manager: first turn requests a software engineer and adds a review task, then
 *   stays open (idle); once that engineer is done it completes its tasks.
 * - software-engineer with an assignment: requests an intern the same way, then completes.
 * - software-engineer / intern without one (made by `team start`): completes its placeholder.
 * - intern with an assignment: does it and completes at once.
 * - solutions-architect: writes design.md and completes.
 * - any other persona: completes its tasks.
 *
 * What it does next is read from the files every turn (never remembered), so a killed turn is
 * simply redone by the next one. `CLAUDE_WRAPPER_SIM_FAIL=auth` prints claude's not-logged-in
 * failure; `=crash` dies mid-turn (exit 1, no result line): for trying the orchestrator's paths.
 */
import { mkdirSync, writeSync } from "node:fs";
import { join, relative } from "node:path";
import { lstatOrUndefined, writeFileAtomic } from "../base/fsx";
import { readText } from "../base/read-text";
import { instructionsPath } from "../workspace/instructions";
import { readGoal } from "../workspace/team-file";
import { readSession } from "../workspace/session";
import { readAllSessions } from "../workspace/store";
import { projectRoot, requestDirName } from "../workspace/paths";

export interface SimContext {
  sessionId: string;
  sessionDir: string;
  workspace: string;
  persona: string;
  /** The conversation id (`--session-id` / `--resume`). */
  agentSessionId: string;
  first: boolean;
  prompt: string;
  /** Multiplier for the pauses between messages (1: about 200 ms a turn; 0: none). */
  pace: number;
  /** `auth` or `crash` to act out a failure. */
  fail?: string;
  /** One stream-json line out (without newline). */
  write(line: string): void;
}

interface Tool {
  name: string;
  input: Record<string, unknown>;
  run: () => string;
}
type Step = { say: string } | { tool: Tool };

const STATUS_LINE = /^(\s*[-*+]?\s*\*\*Status\*\*\s*:?\s*).*$/gim;

function tasksPath(c: SimContext): string {
  return join(c.sessionDir, "tasks.md");
}

function readTasksText(c: SimContext): string {
  return readText(tasksPath(c), 512 * 1024) ?? `# Tasks for ${c.sessionId}\n\n`;
}

function setAllStatuses(text: string, status: string, onlyFrom?: RegExp): string {
  return text.replace(STATUS_LINE, (line, head: string) => {
    if (onlyFrom && !onlyFrom.test(line.slice(head.length))) return line;
    return `${head}${status}`;
  });
}

function shortOf(sessionId: string): string {
  const m = /-(\d+)$/.exec(sessionId);
  return (m?.[1] ?? "0").slice(-6);
}

type TeammateState = { state: "none" } | { state: "waiting" } | { state: "completed"; id: string } | { state: "failed"; id: string; reason: string };

/** Where the teammate we asked for stands, read from the workspace (then from our instructions). */
function teammateState(c: SimContext, persona: string, name: string): TeammateState {
  const sessions = readAllSessions(c.workspace, true).filter((s) => s.rec.persona === persona && s.rec.name === name);
  const last = sessions.at(-1);
  if (last) {
    if (last.archived || last.rec.status === "completed") return { state: "completed", id: last.rec.id };
    if (last.rec.status === "failed") return { state: "failed", id: last.rec.id, reason: last.rec.error ?? "unknown" };
    return { state: "waiting" };
  }
  if (lstatOrUndefined(join(c.workspace, requestDirName(persona, name)))) return { state: "waiting" };
  // The teammate's dir may be gone; the orchestrator's notice in our instructions still says.
  const text = readText(instructionsPath(c.sessionDir)) ?? "";
  for (const block of text.split(/^(?=##\s+Instructions from\b)/m)) {
    if (!block.includes(name)) continue;
    if (/\bfail/i.test(block)) return { state: "failed", id: name, reason: "see instructions.md" };
    if (/\b(complet|finish|archiv)/i.test(block)) return { state: "completed", id: name };
  }
  return { state: "none" };
}

function requestTool(c: SimContext, persona: string, name: string, body: string): Tool {
  const dir = join(c.workspace, requestDirName(persona, name));
  const rel = relative(projectRoot(c.workspace), dir) || dir;
  const text = `## Instructions from ${c.sessionId}\n\n${body}\n`;
  return {
    name: "Bash",
    input: {
      command: `mkdir -p ${rel} && cat > ${rel}/instructions.md <<'EOF'\n${text}EOF`,
      description: `Request a ${persona}`,
    },
    run: () => {
      mkdirSync(dir, { recursive: true });
      writeFileAtomic(join(dir, "instructions.md"), text);
      return "";
    },
  };
}

function writeTasksTool(c: SimContext, text: string): Tool {
  return {
    name: "Write",
    input: { file_path: tasksPath(c), content: text },
    run: () => {
      writeFileAtomic(tasksPath(c), text);
      return `File written: ${tasksPath(c)}`;
    },
  };
}

function completeTasksSteps(c: SimContext, note: string): Step[] {
  const text = `${setAllStatuses(readTasksText(c), "completed").trimEnd()}\n\n${note}\n`;
  return [{ tool: writeTasksTool(c, text) }, { say: "All my tasks are completed." }];
}

/**
 * Hand work to a teammate, wait (idle) until it is done, then complete. The marker line in
 * tasks.md is written before the request, so a turn killed in between asks again on the next
 * turn instead of forgetting, and never asks twice for one that exists.
 */
function delegate(c: SimContext, teammate: { persona: string; label: string; name: string; work: string; reviewTitle: string }): Step[] {
  const marker = `Requested ${teammate.label} \`${teammate.name}\``;
  const tasks = readTasksText(c);
  const st = teammateState(c, teammate.persona, teammate.name);
  if (!tasks.includes(marker)) {
    const next =
      `${setAllStatuses(tasks, "in progress", /pending/i).trimEnd()}\n\n` +
      `## Task: ${teammate.reviewTitle}\n- **Status**: pending\n\n${marker} (${requestDirName(teammate.persona, teammate.name)}).\n`;
    return [
      { say: `I'll ask a ${teammate.label} to do this and review what comes back.` },
      { tool: writeTasksTool(c, next) },
      { tool: requestTool(c, teammate.persona, teammate.name, teammate.work) },
      { say: `Requested ${teammate.label} ${teammate.name}. I'll wait until they report back.` },
    ];
  }
  if (st.state === "none") {
    return [
      { say: `My request for ${teammate.name} is gone and nobody took it; asking again.` },
      { tool: requestTool(c, teammate.persona, teammate.name, teammate.work) },
    ];
  }
  if (st.state === "waiting") return [{ say: `Still waiting for ${teammate.label} ${teammate.name} to finish.` }];
  if (st.state === "failed") {
    return [
      { say: `${teammate.name} failed (${st.reason}). Closing my tasks and reporting it.` },
      ...completeTasksSteps(c, `Note: ${teammate.label} ${st.id} failed (${st.reason}); reported instead of done.`),
    ];
  }
  return [
    { say: `${teammate.label} ${st.id} finished. Reviewing the result: it meets the request.` },
    ...completeTasksSteps(c, `Note: reviewed the work of ${st.id}; accepted.`),
  ];
}

function plan(c: SimContext): Step[] {
  const rec = readSession(c.sessionDir, c.sessionId, c.persona);
  const assigned = Boolean(rec?.requestedBy);
  const asked = (readText(instructionsPath(c.sessionDir), 64 * 1024) ?? "").split("\n").find((l) => l.trim() && !l.startsWith("#"))?.trim();
  const teamGoal = readGoal(c.workspace) || asked || "the goal";
  const goal = assigned ? (asked ?? teamGoal) : teamGoal;
  const short = shortOf(c.sessionId);
  switch (c.persona) {
    case "engineering-manager":
      return delegate(c, {
        persona: "software-engineer",
        label: "software engineer",
        name: `impl-${short}`,
        work: `Build this for the team goal: ${goal}\n\nWrite tests for it, and mark your tasks completed when they pass.`,
        reviewTitle: "Review the software engineer's work",
      });
    case "software-engineer":
      if (!assigned) return [{ say: "No assignment beyond my placeholder task; closing it." }, ...completeTasksSteps(c, "Note: no assignment arrived.")];
      return delegate(c, {
        persona: "intern",
        label: "intern",
        name: `tests-${short}`,
        work: `Write the tests for this work: ${goal}\n\nMark your task completed when they pass.`,
        reviewTitle: "Check the intern's tests",
      });
    case "intern": {
      if (!assigned) return [{ say: "No assignment beyond my placeholder task; closing it." }, ...completeTasksSteps(c, "Note: no assignment arrived.")];
      const notes = join(c.sessionDir, "notes.md");
      const text = `# Notes from ${c.sessionId}\n\nDid: ${goal}\n`;
      return [
        { say: "Doing the assignment now." },
        { tool: { name: "Write", input: { file_path: notes, content: text }, run: () => (writeFileAtomic(notes, text), `File written: ${notes}`) } },
        ...completeTasksSteps(c, "Note: done; see notes.md."),
      ];
    }
    case "solutions-architect": {
      const design = join(c.sessionDir, "design.md");
      const text = `# Design\n\nGoal: ${goal}\n\n- One module per concern, each with its tests.\n- Files on disk are the source of truth.\n`;
      return [
        { say: "Writing the design down for the team." },
        { tool: { name: "Write", input: { file_path: design, content: text }, run: () => (writeFileAtomic(design, text), `File written: ${design}`) } },
        ...completeTasksSteps(c, "Note: the design is in design.md."),
      ];
    }
    default:
      return [{ say: "Doing my tasks." }, ...completeTasksSteps(c, "Note: done.")];
  }
}

const pause = (c: SimContext, ms: number) => (c.pace > 0 ? Bun.sleep(ms * c.pace) : Promise.resolve());

/** Act out one turn; answers the exit code. */
export async function runSimTurn(c: SimContext): Promise<number> {
  const started = Date.now();
  const sid = c.agentSessionId;
  const out = (v: Record<string, unknown>) => c.write(JSON.stringify(v));
  let msg = 0;
  const assistant = (content: unknown[], extra: Record<string, unknown> = {}) =>
    out({
      type: "assistant",
      message: { id: `msg_sim_${++msg}`, type: "message", role: "assistant", model: "sim", content, usage: { input_tokens: 400, output_tokens: 40 } },
      parent_tool_use_id: null,
      session_id: sid,
      ...extra,
    });

  out({
    type: "system",
    subtype: "init",
    cwd: process.cwd(),
    session_id: sid,
    tools: ["Bash", "Edit", "Glob", "Grep", "Read", "Write"],
    model: "sim",
    permissionMode: "default",
    apiKeySource: "none",
    claude_code_version: "sim",
  });
  await pause(c, 40);

  if (c.fail === "auth") {
    assistant([{ type: "text", text: "Not logged in · Please run /login" }], { error: "authentication_failed" });
    out({ type: "result", subtype: "success", is_error: true, duration_ms: Date.now() - started, num_turns: 1, result: "Not logged in · Please run /login", session_id: sid, total_cost_usd: 0, usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } });
    return 1;
  }
  if (c.fail === "crash") {
    assistant([{ type: "text", text: "Starting…" }]);
    return 1;
  }

  const firstLine = c.prompt.split("\n").find((l) => l.trim())?.trim() ?? "";
  assistant([{ type: "text", text: `${c.first ? "Starting" : "Resuming"}: reading my instructions and tasks.${firstLine ? ` (${firstLine.slice(0, 80)})` : ""}` }]);
  await pause(c, 40);

  let tools = 0;
  let lastSay = "";
  for (const step of plan(c)) {
    if ("say" in step) {
      lastSay = step.say;
      assistant([{ type: "text", text: step.say }]);
    } else {
      const id = `toolu_sim_${++tools}`;
      assistant([{ type: "tool_use", id, name: step.tool.name, input: step.tool.input }]);
      let content: string;
      let isError = false;
      try {
        content = step.tool.run();
      } catch (err) {
        content = err instanceof Error ? err.message : String(err);
        isError = true;
      }
      out({ type: "user", message: { role: "user", content: [{ type: "tool_result", tool_use_id: id, content, is_error: isError }] }, parent_tool_use_id: null, session_id: sid });
    }
    await pause(c, 40);
  }

  const turns = tools + 1;
  out({
    type: "result",
    subtype: "success",
    is_error: false,
    duration_ms: Date.now() - started,
    duration_api_ms: 0,
    num_turns: turns,
    result: lastSay || "Done.",
    session_id: sid,
    total_cost_usd: Math.round((0.003 + 0.002 * tools) * 1e6) / 1e6,
    usage: { input_tokens: 300 * turns, output_tokens: 60 * turns, cache_creation_input_tokens: 500, cache_read_input_tokens: 1000 * tools },
  });
  return 0;
}

/** stdout line writer: synchronous, so lines reach the file in order before the process exits. */
export function stdoutWriter(line: string): void {
  writeSync(1, `${line}\n`);
}
