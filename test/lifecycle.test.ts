/**
 * A working day with a team, through real processes: stopped means paused (never restarted by
 * itself, however the orchestrator died), resumed by a person with the same conversation and
 * only what is new; retry of a failed session; the last turn's cost counted; "done" as an event.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Sandbox, fakeCalls, orchestratorPool, processAlive, readJsonFile, run, sandbox, sessionByName, waitFor } from "./helpers";

setDefaultTimeout(90_000);

let sb: Sandbox;
const pool = orchestratorPool();
afterEach(() => pool.teardown(sb));

const byName = (name: string) => sessionByName(sb.workspace, name)!;
const rec = (name: string) => readJsonFile(join(byName(name), "session.json"));

async function team(goal = "Build it") {
  const r = await run(sb, ["team", "start", goal]);
  expect(r.code).toBe(0);
}

function setup(env: Record<string, string> = {}) {
  sb = sandbox("cw-life-");
  Object.assign(sb.env, { CLAUDE_WRAPPER_STOP_GRACE_MS: "300", CLAUDE_WRAPPER_BACKOFF_MS: "50", CLAUDE_WRAPPER_MAX_RESTARTS: "0", ...env });
}

describe("stopped means paused", () => {
  test("Ctrl-C pauses; a new orchestrator leaves it paused; team resume continues the same conversation with only the new block", async () => {
    setup();
    // The manager works for a long time (a running turn); the architect finishes its turn.
    sb.behave("manager", `if [ -f "$dir/resumed-once" ]; then result 0.01; exit 0; fi; touch "$dir/resumed-once"; result 0.01; sleep 60`);
    sb.behave("architect", "result 0.01");
    await team("Build the first thing");
    const o = pool.start(sb);
    const spawned = await o.waitEvent((e) => e.event === "spawned" && e.name === "manager", "manager spawned");
    await waitFor("the manager's turn is under way", () => existsSync(join(byName("manager"), "resumed-once")));
    o.proc.kill("SIGINT");
    expect(await o.proc.exited).toBe(0);
    const paused = rec("manager");
    expect(paused).toMatchObject({ status: "stopped", pid: null });
    await waitFor("its agent gone (reaped once its parent exited)", () => !processAlive(spawned.pid));

    expect((await run(sb, ["tell", "manager", "Also add a README"])).code).toBe(0);
    const again = pool.start(sb);
    await waitFor("the paused hint", () => again.stderr().includes("team resume"));
    await again.waitEvent((e) => e.event === "started", "started");
    // The architect (idle) is there to be looked at; the manager stays paused.
    expect(rec("manager").status).toBe("stopped");

    const r = await run(sb, ["team", "resume"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("manager");
    const resumed = await again.waitEvent((e) => e.event === "spawned" && e.name === "manager", "manager resumed");
    expect(resumed.resume).toBe(true);
    const runs = await waitFor("the second run recorded", () => (fakeCalls(byName("manager")).length === 2 ? fakeCalls(byName("manager")) : undefined));
    const last = runs.at(-1)!.argv;
    expect(last).toContain("--resume");
    expect(last[last.indexOf("--resume") + 1]).toBe(paused.agentSessionId);
    const prompt = last.at(-1)!;
    expect(prompt).toContain("Also add a README");
    expect(prompt).not.toContain("Build the first thing");
    await waitFor("the resume marker consumed", () => !existsSync(join(byName("manager"), "resume.request")));
  });

  test("an orchestrator killed during its own shutdown does not bring the stopped sessions back", async () => {
    setup({ CLAUDE_WRAPPER_STOP_GRACE_MS: "4000" });
    // An agent that ignores SIGTERM keeps the shutdown busy long enough to kill it there.
    sb.behave("manager", `trap '' TERM; result 0.01; while true; do sleep 0.1; done`);
    sb.behave("architect", "result 0.01");
    await team();
    const o = pool.start(sb);
    const spawned = await o.waitEvent((e) => e.event === "spawned" && e.name === "manager", "manager spawned");
    // Past its `trap` (it prints its result line after), so SIGTERM cannot end it.
    await waitFor("the agent ignoring SIGTERM", () => readFileSync(join(byName("manager"), "agent.jsonl"), "utf8").includes('"result"'));
    o.proc.kill("SIGTERM");
    await waitFor("the pause recorded before the agent is stopped", () => rec("manager").status === "stopped");
    o.proc.kill("SIGKILL");
    await o.proc.exited;
    expect(processAlive(spawned.pid)).toBe(true); // the interrupted shutdown left it running

    const next = pool.start(sb);
    await next.waitEvent((e) => e.event === "stopped" && e.session === spawned.session, "the leftover agent stopped");
    await waitFor("gone", () => !processAlive(spawned.pid));
    expect(rec("manager").status).toBe("stopped");
    expect(next.events.filter((e) => e.event === "spawned" && e.name === "manager")).toEqual([]);
    expect(fakeCalls(byName("manager")).length).toBe(1);
  });

  test("team stop pauses every session; retry runs one failed session again", async () => {
    setup();
    sb.behave("manager", `if [ ! -f "$WORKSPACE_OK" ]; then exit 3; fi; result 0.01`);
    sb.env.WORKSPACE_OK = join(sb.root, "ok");
    sb.behave("architect", "result 0.01");
    await team();
    const o = pool.start(sb);
    const failed = await o.waitEvent((e) => e.event === "failed" && e.name === "manager", "manager failed");
    expect(failed.reason).toContain("failed 1 times");
    // What a person must act on is shown with its reason.
    const status = await run(sb, ["team", "status"]);
    expect(status.stdout).toMatch(/✖ manager \(engineering-manager-\d+\) failed: the agent failed 1 times/);
    expect((await run(sb, ["retry", "architect"])).code).toBe(4); // idle: nothing to retry
    await Bun.write(join(sb.root, "ok"), "");
    const r = await run(sb, ["retry", "manager"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("resumes them now");
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager ran again");
    expect(rec("manager")).toMatchObject({ status: "idle", error: null, restarts: 0 });

    const stop = await run(sb, ["team", "stop", "--json"]);
    expect(stop.code).toBe(0);
    for (const name of ["manager", "architect"]) expect(rec(name).status).toBe("stopped");
    const start = await run(sb, ["team", "start", "Another goal"]);
    expect(start.code).toBe(4);
    expect(start.stderr).toContain("team resume");
  });
});

describe("login checked before spending", () => {
  test("claude not logged in (`claude auth status`): orchestrate refuses in one line with the fix, no agent started; doctor exits 1", async () => {
    setup({ FAKE_CLAUDE_LOGGED_OUT: "1" });
    await team();
    const r = await run(sb, ["orchestrate"], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/claude.*not logged in/i);
    expect(r.stderr).toContain("/login");
    for (const name of ["manager", "architect"]) expect(fakeCalls(byName(name))).toEqual([]);
    const doctor = await run(sb, ["doctor"]);
    expect(doctor.code).toBe(1);
    // Logged in: it starts.
    delete sb.env.FAKE_CLAUDE_LOGGED_OUT;
    sb.behave("default", "result 0.01");
    const o = pool.start(sb);
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager ran");
  });
});

describe("the last turn and the end of the team", () => {
  test("an agent that completes its tasks and then reports its cost has that cost in the archive", async () => {
    setup({ CLAUDE_WRAPPER_COMPLETION_GRACE_MS: "10000" });
    // Tasks completed first, the result line (with the turn's cost) a moment later.
    sb.behave("architect", `complete_all_tasks; sleep 1; result 0.25`);
    sb.behave("manager", "result 0.01");
    await team();
    const o = pool.start(sb);
    const archived = await o.waitEvent((e) => e.event === "archived" && e.name === "architect", "architect archived");
    const exited = o.events.find((e) => e.event === "exited" && e.name === "architect")!;
    expect(exited.code).toBe(0); // it ended its turn itself, inside the grace
    expect(readJsonFile(join(archived.archive, "session.json"))).toMatchObject({ status: "completed", costUsd: 0.25, runs: 1 });
  });

  test("the manager's completion is the team-done event; --exit-when-done exits 0", async () => {
    setup();
    sb.behave("manager", "echo '# Summary: built it' >> \"$dir/tasks.md\"; complete_all_tasks; result 0.5");
    sb.behave("architect", "result 0.01");
    await team();
    const o = pool.start(sb, ["--exit-when-done"]);
    const done = await o.waitEvent((e) => e.event === "team-done", "team-done");
    expect(done.summary).toMatch(/engineering-manager-\d+-completed\/tasks\.md$/);
    expect(readFileSync(done.summary, "utf8")).toContain("Summary: built it");
    expect(done.costUsd).toBeGreaterThanOrEqual(0.5);
    expect(typeof done.elapsedMs).toBe("number");
    expect(await o.proc.exited).toBe(0);
    expect(rec("architect").status).toBe("idle");
    expect(readJsonFile(join(sb.workspace, ".team.json")).finishedAt).toBeString();
  });

  test("a budget is shown as it was given, and reached when spend gets there", async () => {
    setup();
    sb.behave("manager", "result 0.004");
    sb.behave("architect", "result 0.004");
    await team();
    const o = pool.start(sb, ["--budget-usd", "0.005"]);
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    await o.waitEvent((e) => e.event === "idle" && e.name === "architect", "architect idle");
    expect((await run(sb, ["tell", "manager", "more"])).code).toBe(0);
    const reached = await o.waitEvent((e) => e.event === "budget-exhausted", "budget reached");
    expect(reached.budgetUsd).toBe(0.005);
    const status = await run(sb, ["team", "status"]);
    expect(status.stdout).toContain("budget $0.005");
  });
});
