/**
 * Agent runners: the exact claude argv (first run, resume, persona override, skip-permissions),
 * runnerFor, and the simulated agent run as a real process in session dirs made by `team start`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { summarizeAgentLog } from "../core/agents/agentlog";
import { runnerFor } from "../core/agents";
import { chooseAgent } from "../core/agents/choose";
import { claudeRunner } from "../core/agents/claude";
import { SIM_PROMPT_ENV, isCompiledBinary, simRunner } from "../core/agents/sim";
import type { AgentTurn } from "../core/agents/types";
import { UserError } from "../core/base/errors";
import { loadPersonas } from "../core/workspace/personas";
import { spawnDetached } from "../core/processes/proc";
import { readSession, writeSession } from "../core/workspace/session";
import { readTasks } from "../core/workspace/tasks";
import { createSession } from "../core/team/start";
import { archiveDirName, projectRoot } from "../core/workspace/paths";
import { BUN, ROOT, type Sandbox, agentTurn, run, sessionDirs, sandboxes } from "./helpers";

const box = sandboxes("cw-agents-");
afterEach(box.cleanup);

const UUID = "0b6a3c5e-8d7f-4a21-9c3e-2f1d0e9b8a7c";

function turn(sb: Sandbox, persona: string, fields: Partial<AgentTurn> = {}): AgentTurn {
  // The model a run gets is chosen once (core/agents/choose.ts); with no team, the persona's.
  return agentTurn(sb, persona, { agentSessionId: UUID, model: loadPersonas(sb.workspace).get(persona)!.model, ...fields });
}

describe("claude argv", () => {
  test("first run: headless stream-json, persona prompt appended, --session-id, built-in persona's flags", () => {
    const sb = box();
    const t = turn(sb, "software-engineer");
    expect(claudeRunner.argv(t)).toEqual([
      "claude",
      "-p",
      "--output-format",
      "stream-json",
      "--verbose",
      "--append-system-prompt-file",
      t.personaInstructionsPath,
      "--session-id",
      UUID,
      // The built-in engineer's default model (personas/software-engineer.md).
      "--model",
      "sonnet",
      "--permission-mode",
      "acceptEdits",
      "--allowedTools=Read,Write,Edit,Glob,Grep,Bash",
      "--",
      "Read instructions.md and do your tasks.",
    ]);
    expect(claudeRunner.executable()).toBe("claude");
    // Nothing forced on the user's claude (CLAUDE_CODE_MAX_RETRIES stays theirs).
    expect(claudeRunner.env?.(t) ?? {}).toEqual({});
  });

  test("later runs resume the same conversation and never pass --session-id again", () => {
    const sb = box();
    const first = claudeRunner.argv(turn(sb, "intern", { first: true }));
    const again = claudeRunner.argv(turn(sb, "intern", { first: false, prompt: "New instructions arrived." }));
    expect(first[first.indexOf("--session-id") + 1]).toBe(UUID);
    expect(first).not.toContain("--resume");
    expect(again).not.toContain("--session-id");
    expect(again[again.indexOf("--resume") + 1]).toBe(UUID);
    expect(again.at(-1)).toBe("New instructions arrived.");
  });

  test("model, permission mode and allowed tools come from a workspace persona override", () => {
    const sb = box();
    mkdirSync(join(sb.workspace, "personas"), { recursive: true });
    writeFileSync(
      join(sb.workspace, "personas", "software-engineer.md"),
      "---\nlabel: engineer\nmodel: claude-sonnet-4-5\npermissionMode: plan\nallowedTools:\n  - Read\n  - Bash(git log:*)\n---\nBody {{sessionId}}\n",
    );
    const persona = loadPersonas(sb.workspace).get("software-engineer")!;
    const argv = claudeRunner.argv(turn(sb, "software-engineer", { model: chooseAgent({ persona }).model }));
    expect(argv[argv.indexOf("--model") + 1]).toBe("claude-sonnet-4-5");
    expect(argv[argv.indexOf("--permission-mode") + 1]).toBe("plan");
    // One argv item in the `=` form: a variadic --allowedTools can swallow nothing after it.
    expect(argv.filter((a) => a.startsWith("--allowedTools"))).toEqual(["--allowedTools=Read,Bash(git log:*)"]);
    expect(argv).not.toContain("--allowedTools");
  });

  test("a persona without model/permission/tools passes none of those flags", () => {
    const sb = box();
    mkdirSync(join(sb.workspace, "personas"), { recursive: true });
    writeFileSync(join(sb.workspace, "personas", "reviewer.md"), "---\nlabel: reviewer\n---\nReview things.\n");
    const argv = claudeRunner.argv(turn(sb, "reviewer"));
    for (const flag of ["--model", "--permission-mode", "--dangerously-skip-permissions"]) expect(argv).not.toContain(flag);
    expect(argv.some((a) => a.startsWith("--allowedTools"))).toBe(false);
  });

  test("--dangerously-skip-permissions replaces the persona's permission mode", () => {
    const sb = box();
    const argv = claudeRunner.argv(turn(sb, "engineering-manager", { skipPermissions: true }));
    expect(argv).toContain("--dangerously-skip-permissions");
    expect(argv).not.toContain("--permission-mode");
  });

  test("a prompt that looks like a flag is still the prompt: it follows --", () => {
    const sb = box();
    const argv = claudeRunner.argv(turn(sb, "intern", { prompt: "--help me with this" }));
    expect(argv.slice(-2)).toEqual(["--", "--help me with this"]);
  });
});

describe("runnerFor", () => {
  test("knows claude, codex, gemini and sim; anything else is a user error naming them", () => {
    expect(runnerFor("claude")).toBe(claudeRunner);
    expect(runnerFor("sim")).toBe(simRunner);
    expect(runnerFor("codex").name).toBe("codex");
    expect(runnerFor("gemini").name).toBe("gemini");
    let err: unknown;
    try {
      runnerFor("aider");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain('"aider"');
    expect((err as Error).message).toContain("claude, codex, gemini, sim");
    expect(() => runnerFor("toString")).toThrow(UserError);
  });
});

describe("sim runner", () => {
  test("argv re-runs this program as sim-agent (Bun + cli.ts here); the prompt travels in env", () => {
    const sb = box();
    const t = turn(sb, "intern");
    expect(simRunner.argv(t)).toEqual([BUN, join(ROOT, "cli.ts"), "sim-agent", "--session-id", UUID]);
    expect(simRunner.argv({ ...t, first: false })).toEqual([BUN, join(ROOT, "cli.ts"), "sim-agent", "--resume", UUID]);
    expect(simRunner.env?.(t)).toEqual({ [SIM_PROMPT_ENV]: t.prompt });
    expect(simRunner.executable()).toBeUndefined();
  });

  test("a compiled binary is recognised by its virtual entry path", () => {
    expect(isCompiledBinary("/$bunfs/root/claude-wrapper")).toBe(true);
    expect(isCompiledBinary("B:/~BUN/root/claude-wrapper.exe")).toBe(true);
    expect(isCompiledBinary(join(ROOT, "core/agents/sim.ts"))).toBe(false);
  });
});

/** Run one sim turn the way the orchestrator does: detached, stdout appended to agent.jsonl. */
async function simTurn(sb: Sandbox, dir: string, opts: { first?: boolean; env?: Record<string, string> } = {}) {
  const rec = readSession(dir, dir.split("/").pop()!, dir.split("/").pop()!.replace(/-\d+$/, ""))!;
  const t: AgentTurn = {
    sessionId: rec.id,
    sessionDir: dir,
    workspace: sb.workspace,
    projectRoot: projectRoot(sb.workspace),
    cwd: projectRoot(sb.workspace),
    persona: loadPersonas(sb.workspace).get(rec.persona)!,
    agentSessionId: UUID,
    first: opts.first ?? true,
    prompt: "Read your instructions.",
    personaInstructionsPath: join(dir, "persona-instructions.md"),
    skipPermissions: false,
  };
  const started = Date.now();
  const agent = spawnDetached({
    argv: simRunner.argv(t),
    cwd: t.projectRoot,
    env: {
      ...sb.env,
      ...simRunner.env?.(t),
      CLAUDE_WRAPPER_SESSION_ID: rec.id,
      CLAUDE_WRAPPER_SESSION_DIR: dir,
      CLAUDE_WRAPPER_WORKSPACE: sb.workspace,
      CLAUDE_WRAPPER_PERSONA: rec.persona,
      ...opts.env,
    },
    stdoutPath: join(dir, "agent.jsonl"),
    stderrPath: join(dir, "agent.stderr.log"),
  });
  const { code } = await agent.exited;
  return { code, ms: Date.now() - started, log: summarizeAgentLog(join(dir, "agent.jsonl")), stderr: readFileSync(join(dir, "agent.stderr.log"), "utf8") };
}

async function team(sb: Sandbox, ...extra: string[]): Promise<void> {
  const r = await run(sb, ["team", "start", "Build a tiny todo app", ...extra]);
  expect(r.code).toBe(0);
}

const dirOf = (sb: Sandbox, persona: string) => join(sb.workspace, sessionDirs(sb.workspace, persona)[0]!);

describe("sim-agent as a real process", () => {
  test("the manager's first turn requests a software engineer, adds a task and stays open", async () => {
    const sb = box();
    await team(sb);
    const manager = dirOf(sb, "engineering-manager");
    const id = manager.split("/").pop()!;

    const t = await simTurn(sb, manager);
    expect(t.stderr).toBe("");
    expect(t.code).toBe(0);
    expect(t.log.lastTurnFinished).toBe(true);
    expect(t.log.lastResult?.isError).toBe(false);
    expect(t.log.totals.costUsd).toBeGreaterThan(0);
    expect(t.log.totals.turns).toBeGreaterThan(0);
    expect(t.log.agentSessionId).toBe(UUID);

    const requests = readdirSync(sb.workspace).filter((d) => d.startsWith("software-engineer-request-"));
    expect(requests).toHaveLength(1);
    const req = readFileSync(join(sb.workspace, requests[0]!, "instructions.md"), "utf8");
    expect(req.split("\n")[0]).toBe(`## Instructions from ${id}`);
    expect(req).toContain("Build a tiny todo app");

    const tasks = readTasks(join(manager, "tasks.md"));
    expect(tasks.total).toBe(2);
    expect(tasks.complete).toBe(false);

    // Woken again before the engineer is done: it keeps waiting and asks for nobody new.
    const again = await simTurn(sb, manager, { first: false });
    expect(again.code).toBe(0);
    expect(readTasks(join(manager, "tasks.md")).complete).toBe(false);
    expect(readdirSync(sb.workspace).filter((d) => d.includes("-request-"))).toEqual(requests);
    expect(again.log.results).toBe(2);
  });

  test("the manager completes its tasks once the engineer it asked for has completed", async () => {
    const sb = box();
    await team(sb);
    const manager = dirOf(sb, "engineering-manager");
    const managerId = manager.split("/").pop()!;
    await simTurn(sb, manager);
    const request = readdirSync(sb.workspace).find((d) => d.startsWith("software-engineer-request-"))!;
    const name = request.slice("software-engineer-request-".length);

    // What the orchestrator does: the request becomes a session; it completes and is archived.
    const eng = createSession(sb.workspace, { persona: "software-engineer", name, firstTask: "Build it", instructions: "Build it", from: managerId, requestedBy: managerId, goal: "g" });
    writeSession(eng.dir, { ...readSession(eng.dir, eng.id, eng.persona)!, status: "completed" });
    renameSync(eng.dir, join(sb.workspace, archiveDirName(eng.id)));

    const t = await simTurn(sb, manager, { first: false });
    expect(t.code).toBe(0);
    const tasks = readTasks(join(manager, "tasks.md"));
    expect(tasks.complete).toBe(true);
    expect(tasks.total).toBe(2);
  });

  test("with the engineer's dir gone, the orchestrator's notice in instructions.md is enough to complete", async () => {
    const sb = box();
    await team(sb);
    const manager = dirOf(sb, "engineering-manager");
    await simTurn(sb, manager);
    const request = readdirSync(sb.workspace).find((d) => d.startsWith("software-engineer-request-"))!;
    const name = request.slice("software-engineer-request-".length);
    rmSync(join(sb.workspace, request), { recursive: true });
    appendFileSync(join(manager, "instructions.md"), `## Instructions from orchestrator (2030-01-01 00:00:00)\n\nsoftware-engineer-1800000000000 (${name}) completed all its tasks and was archived.\n\n`);

    const t = await simTurn(sb, manager, { first: false });
    expect(t.code).toBe(0);
    expect(readTasks(join(manager, "tasks.md")).complete).toBe(true);
    expect(readdirSync(sb.workspace).filter((d) => d.includes("-request-"))).toEqual([]);
  });

  test("a request that vanished unclaimed is made again, once", async () => {
    const sb = box();
    await team(sb);
    const manager = dirOf(sb, "engineering-manager");
    await simTurn(sb, manager);
    const request = readdirSync(sb.workspace).find((d) => d.startsWith("software-engineer-request-"))!;
    rmSync(join(sb.workspace, request), { recursive: true });
    await simTurn(sb, manager, { first: false });
    expect(readdirSync(sb.workspace).filter((d) => d.includes("-request-"))).toEqual([request]);
    expect(readTasks(join(manager, "tasks.md")).total).toBe(2);
  });

  test("an engineer with an assignment requests an intern; the intern completes at once", async () => {
    const sb = box();
    await team(sb);
    const managerId = sessionDirs(sb.workspace, "engineering-manager")[0]!;
    const eng = createSession(sb.workspace, { persona: "software-engineer", name: "impl-1", firstTask: "Build the list view", instructions: "Build the list view", from: managerId, requestedBy: managerId, goal: "g" });

    const e = await simTurn(sb, eng.dir);
    expect(e.code).toBe(0);
    const req = readdirSync(sb.workspace).find((d) => d.startsWith("intern-request-"));
    expect(req).toBeDefined();
    expect(readFileSync(join(sb.workspace, req!, "instructions.md"), "utf8")).toStartWith(`## Instructions from ${eng.id}\n`);
    expect(readTasks(join(eng.dir, "tasks.md")).complete).toBe(false);

    const intern = createSession(sb.workspace, { persona: "intern", name: req!.slice("intern-request-".length), firstTask: "Write the tests", instructions: "Write the tests", from: eng.id, requestedBy: eng.id, goal: "g" });
    const i = await simTurn(sb, intern.dir);
    expect(i.code).toBe(0);
    expect(readTasks(join(intern.dir, "tasks.md")).complete).toBe(true);
    // A full turn with realistic pauses, yet quick.
    expect(i.ms).toBeLessThan(5000);
  });

  test("placeholder engineers and interns from team start complete; the architect writes design.md", async () => {
    const sb = box();
    await team(sb, "--engineers", "1", "--interns", "1");
    for (const persona of ["software-engineer", "intern", "solutions-architect"]) {
      const dir = dirOf(sb, persona);
      const t = await simTurn(sb, dir);
      expect(t.code).toBe(0);
      expect(readTasks(join(dir, "tasks.md")).complete).toBe(true);
    }
    expect(readFileSync(join(dirOf(sb, "solutions-architect"), "design.md"), "utf8")).toContain("Build a tiny todo app");
    expect(readdirSync(sb.workspace).filter((d) => d.includes("-request-"))).toEqual([]);
  });

  test("CLAUDE_WRAPPER_SIM_FAIL=auth acts out claude's not-logged-in failure", async () => {
    const sb = box();
    await team(sb);
    const manager = dirOf(sb, "engineering-manager");
    const t = await simTurn(sb, manager, { env: { CLAUDE_WRAPPER_SIM_FAIL: "auth" } });
    expect(t.code).toBe(1);
    expect(t.log.failure?.kind).toBe("auth");
    expect(t.log.authFailure).toContain("/login");
    expect(readdirSync(sb.workspace).filter((d) => d.includes("-request-"))).toEqual([]);
  });

  test("sim-agent outside a session is a clear user error", async () => {
    const sb = box();
    const env = { ...sb.env };
    delete env.CLAUDE_WRAPPER_SESSION_DIR;
    const r = await run({ root: sb.root, env }, ["sim-agent", "--session-id", UUID]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("CLAUDE_WRAPPER_SESSION_DIR");
    // Hidden from the command list.
    const help = await run(sb, ["--help"]);
    expect(help.stdout).not.toContain("sim-agent");
  });
});
