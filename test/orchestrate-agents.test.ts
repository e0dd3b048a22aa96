/** The agent side of `orchestrate`: auth failures, budget, wake-ups, a missing CLI, `demo`. */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileIdentity } from "../core/base/fsx";
import { type Sandbox, archiveDirs, fakeCalls, orchestratorPool, processesOfWorkspace, readJsonFile, run, sandbox, sessionByName, sessionDirs, waitFor } from "./helpers";

setDefaultTimeout(60_000);

let sb: Sandbox;
const pool = orchestratorPool();
const start = (extra: string[] = []) => pool.start(sb, extra);
const calls = fakeCalls;

function dirOf(name: string): string {
  const dir = sessionByName(sb.workspace, name);
  if (!dir) throw new Error(`no session named ${name}`);
  return dir;
}

afterEach(() => pool.teardown(sb));

// Claude Code's not-logged-in output, as observed (../shared/CLAUDE-CLI.md).
const NOT_LOGGED_IN = `echo '{"type":"assistant","message":{"content":[{"type":"text","text":"Not logged in · Please run /login"}]},"error":"authentication_failed","session_id":"'$sid'"}'
echo '{"type":"result","subtype":"success","is_error":true,"num_turns":1,"result":"Not logged in · Please run /login","session_id":"'$sid'","total_cost_usd":0,"usage":{"input_tokens":0,"output_tokens":0}}'
exit 1`;

describe("orchestrate with agents", () => {
  test("not logged in → failed at once with the fix, no restart loop", async () => {
    sb = sandbox();
    sb.behave("manager", NOT_LOGGED_IN);
    sb.behave("architect", "result 0.01");
    expect((await run(sb, ["team", "start", "x"])).code).toBe(0);
    const o = start();
    const failed = await o.waitEvent((e) => e.event === "failed" && e.name === "manager", "manager failed");
    expect(failed.reason).toMatch(/log/i);
    expect(o.events.filter((e) => e.event === "restarting")).toEqual([]);
    expect(calls(dirOf("manager")).length).toBe(1);
    const rec = readJsonFile(join(dirOf("manager"), "session.json"));
    expect(rec.status).toBe("failed");
    expect(rec.error).toBe(failed.reason);
  });

  test("cost and tokens are summed into session.json; --budget-usd stops starting and resuming", async () => {
    sb = sandbox();
    // The manager's cost is on record before its requests exist, so no intern can slip in.
    sb.behave("manager", `result 1.2; request intern a "Task A"; request intern b "Task B"`);
    sb.behave("architect", "result 0.01");
    sb.behave("intern", "result 0.01");
    expect((await run(sb, ["team", "start", "x"])).code).toBe(0);
    const o = start(["--budget-usd", "1"]);
    const exhausted = await o.waitEvent((e) => e.event === "budget-exhausted", "budget exhausted");
    expect(exhausted.budgetUsd).toBe(1);
    expect(exhausted.costUsd).toBeGreaterThanOrEqual(1);
    await waitFor("requests claimed", () => sessionDirs(sb.workspace, "intern").length === 2);
    const mgr = readJsonFile(join(dirOf("manager"), "session.json"));
    expect(mgr.costUsd).toBeCloseTo(1.2, 6);
    expect(mgr.inputTokens).toBe(100);
    expect(mgr.outputTokens).toBe(50);
    expect(mgr.turns).toBe(1);
    // Nothing started after the cap: the interns wait, unspawned.
    expect(o.events.filter((e) => e.event === "spawned" && e.persona === "intern")).toEqual([]);
    expect(o.events.filter((e) => e.event === "budget-exhausted").length).toBe(1);
  });

  test("the orchestrator records task progress in session.json with the identity of the tasks.md counted", async () => {
    sb = sandbox();
    sb.behave("manager", `sed -i 's/\\*\\*Status\\*\\*: pending/**Status**: completed/' "$dir/tasks.md"; printf '\\n## Task: Review\\n- **Status**: in progress\\n' >> "$dir/tasks.md"; result 0.01`);
    sb.behave("architect", "result 0.01");
    expect((await run(sb, ["team", "start", "x"])).code).toBe(0);
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    const dir = dirOf("manager");
    await waitFor("counts recorded", () => readJsonFile(join(dir, "session.json")).tasksTotal === 2);
    expect(readJsonFile(join(dir, "session.json"))).toMatchObject({ tasksDone: 1, tasksTotal: 2, tasksKey: fileIdentity(join(dir, "tasks.md")) });
  });

  test("an idle agent is woken by `tell` with only the new block, on the same conversation", async () => {
    sb = sandbox();
    sb.behave("manager", `if grep -q "ship it" "$dir/instructions.md"; then complete_all_tasks; fi; result 0.01`);
    sb.behave("architect", "result 0.01");
    expect((await run(sb, ["team", "start", "Build the thing"])).code).toBe(0);
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    const told = await run(sb, ["tell", "manager", "ship it"]);
    expect(told.code).toBe(0);
    await o.waitEvent((e) => e.event === "resumed" && e.name === "manager", "manager resumed");
    await o.waitEvent((e) => e.event === "archived" && e.name === "manager", "manager archived");
    const [first, second] = calls(archiveDirs(sb.workspace, "engineering-manager").map((d) => join(sb.workspace, d))[0]!);
    const sid = first.argv[first.argv.indexOf("--session-id") + 1];
    expect(second.argv[second.argv.indexOf("--resume") + 1]).toBe(sid);
    const prompt = String(second.argv.at(-1));
    expect(prompt).toContain("ship it");
    expect(prompt).not.toContain("Build the thing");
  });

  test("no `claude` on PATH: a clear startup error, nothing spawned", async () => {
    sb = sandbox();
    expect((await run(sb, ["team", "start", "x"])).code).toBe(0);
    sb.env.PATH = "/usr/bin:/bin";
    const r = await run(sb, ["orchestrate"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("`claude` is not on PATH");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(sb.workspace, ".orchestrator.json"))).toBe(false);
    for (const d of sessionDirs(sb.workspace)) expect(readJsonFile(join(sb.workspace, d, "session.json")).status).toBe("pending");
  });

  test("`demo` runs the whole lifecycle with no claude on PATH", async () => {
    sb = sandbox();
    sb.env.PATH = "/usr/bin:/bin";
    sb.env.TMPDIR = sb.root;
    const r = await run(sb, ["demo", "--json"], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const summary = lines.at(-1).summary;
    expect(summary.finished).toBe(true);
    expect(summary.archived).toBe(4);
    expect(summary.costUsd).toBeGreaterThan(0);
    expect(summary.workspace.startsWith(sb.root)).toBe(true);
    const events = lines.slice(0, -1).map((e) => e.event);
    for (const e of ["started", "spawned", "idle", "resumed", "completed", "archived"]) expect(events).toContain(e);
    const personas = archiveDirs(summary.workspace).map((d) => d.replace(/-\d+-completed$/, ""));
    expect(personas).toEqual(["engineering-manager", "intern", "software-engineer", "solutions-architect"]);
    expect(processesOfWorkspace(summary.workspace)).toEqual([]);
  });
});

describe("orchestrate: failures told on stderr", () => {
  test("claude refusing how it was started (root + skip-permissions) fails at once, no retries", async () => {
    sb = sandbox();
    sb.behave("manager", `echo "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons" >&2; exit 1`);
    sb.behave("architect", "result 0.01");
    expect((await run(sb, ["team", "start", "x"])).code).toBe(0);
    const o = start(["--dangerously-skip-permissions"]);
    const failed = await o.waitEvent((e) => e.event === "failed" && e.name === "manager", "manager failed");
    expect(failed.reason).toContain("root");
    expect(o.events.filter((e) => e.event === "restarting")).toEqual([]);
    const [call] = calls(dirOf("manager"));
    expect(call.argv).toContain("--dangerously-skip-permissions");
    expect(call.argv).not.toContain("--permission-mode");
  });
});
