/**
 * `team status`, `track` and `team stop` against real processes: agents left by a crashed
 * orchestrator, a stand-in orchestrator (cooperative or hung), reused PIDs that must never be
 * signalled. (The fast task counter is checked against the Markdown parser in tasks.test.ts.)
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { fileIdentity } from "../core/base/fsx";
import { join } from "node:path";
import { taskBlock } from "../core/workspace/tasks";
import { cliArgv, processesOfWorkspace, readJsonFile, run, waitFor } from "./helpers";
import { alive, deadPid, fakeOrchestrator, leftoverAgent, patchSession, sandboxes, startTeam, unrelatedProcess } from "./helpers-listing";

const S = sandboxes("cw-status-stop-");
afterEach(() => S.cleanup());

const session = (dir: string) => readJsonFile(join(dir, "session.json"));

function completeFirstTask(dir: string): void {
  const path = join(dir, "tasks.md");
  writeFileSync(path, readFileSync(path, "utf8").replace(/\*\*Status\*\*: pending/, "**Status**: completed") + taskBlock("Second thing"));
}

describe("team status", () => {
  test("--json: orchestrator, rows, totals, counts, task progress", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 1, 0);
    const agent = await leftoverAgent(sb, team.manager!);
    S.track(agent.pid);
    patchSession(team.architect!.dir, { status: "idle", costUsd: 0.5, inputTokens: 1000, outputTokens: 200 });
    patchSession(team["engineer-1"]!.dir, { costUsd: 0.25, inputTokens: 10, outputTokens: 5 });
    completeFirstTask(team.architect!.dir);

    const r = await run(sb, ["team", "status", "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.orchestrator).toBeNull();
    expect(s.sessions.map((x: any) => x.name)).toEqual(["manager", "architect", "engineer-1"]);
    expect(s.totals).toMatchObject({ costUsd: 0.75, inputTokens: 1010, outputTokens: 205, tasksDone: 1, tasksTotal: 4, running: 1 });
    expect(s.counts).toEqual({ pending: 1, active: 1, idle: 1 });
    const manager = s.sessions[0];
    expect(manager).toMatchObject({ status: "active", running: true, pid: agent.pid, tasksDone: 0, tasksTotal: 1 });
    expect(s.sessions[1]).toMatchObject({ status: "idle", tasksDone: 1, tasksTotal: 2, costUsd: 0.5 });

    const human = await run(sb, ["team", "status"]);
    expect(human.stdout).toContain("orchestrator not running");
    expect(human.stdout).toContain("tasks 1/4");
    expect(human.stdout).toContain("$0.7500");
    expect(human.stdout).toMatch(new RegExp(`manager\\s+manager\\s+active\\s+0/1.*${agent.pid}`));
  });

  test("task counts recorded in session.json are used exactly while tasks.md is the file they were counted from", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    const dir = team.manager!.dir;
    // `team start` records the one pending task with the identity of the tasks.md it wrote.
    expect(session(dir)).toMatchObject({ tasksDone: 0, tasksTotal: 1, tasksKey: fileIdentity(join(dir, "tasks.md")) });
    const counts = async () => {
      const s = JSON.parse((await run(sb, ["team", "status", "--json"])).stdout);
      const m = s.sessions.find((x: any) => x.name === "manager");
      return [m.tasksDone, m.tasksTotal];
    };
    // Recorded counts for this very file are trusted (these are not what the file says)...
    patchSession(dir, { tasksDone: 7, tasksTotal: 9 });
    expect(await counts()).toEqual([7, 9]);
    // ...and the moment the file changes, it is read instead.
    completeFirstTask(dir);
    expect(await counts()).toEqual([1, 2]);
  });

  test("names a live orchestrator, and not one whose PID is gone", async () => {
    const sb = S.box();
    await startTeam(sb, 0, 0);
    const orch = await fakeOrchestrator(sb);
    S.track(orch.pid);
    const s = JSON.parse((await run(sb, ["team", "status", "--json"])).stdout);
    expect(s.orchestrator).toMatchObject({ pid: orch.pid, version: "fake" });
    expect((await run(sb, ["team", "status"])).stdout).toContain(`orchestrator running (PID ${orch.pid}`);

    orch.proc.kill("SIGKILL");
    await orch.proc.exited;
    const after = JSON.parse((await run(sb, ["team", "status", "--json"])).stdout);
    expect(after.orchestrator).toBeNull();
  });
});

describe("track", () => {
  test("piped: prints the dashboard once and exits", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 1, 0);
    completeFirstTask(team.manager!.dir);
    const r = await run(sb, ["track"], { timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("orchestrator not running");
    expect(r.stdout).toMatch(/LAST ACTIVITY/);
    expect(r.stdout).toMatch(/manager\s+manager\s+pending\s+1\/2/);
    expect(r.stdout).toContain(team["engineer-1"]!.id);
    expect(r.stdout).not.toContain("\x1b[");
  });

  test("--json: one snapshot with runtime and last activity per session", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    const agent = await leftoverAgent(sb, team.architect!);
    S.track(agent.pid);
    const r = await run(sb, ["track", "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s)).toEqual(expect.arrayContaining(["orchestrator", "sessions", "totals", "counts"]));
    const arch = s.sessions.find((x: any) => x.name === "architect");
    expect(arch).toMatchObject({ status: "active", running: true, pid: agent.pid, tasksDone: 0, tasksTotal: 1 });
    expect(arch.runtimeMs).toBeGreaterThanOrEqual(0);
    const newest = Math.max(...readdirSync(team.architect!.dir).map((f) => statSync(join(team.architect!.dir, f)).mtimeMs));
    expect(Date.parse(arch.lastActivityAt)).toBe(Math.floor(newest));
    expect(s.sessions.find((x: any) => x.name === "manager").runtimeMs).toBeNull();
  });

  const hasScript = Bun.spawnSync(["sh", "-c", "command -v script"]).exitCode === 0;
  test.skipIf(!hasScript)("on a terminal: redraws when the workspace changes, q restores the terminal", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    const cmd = [...cliArgv(), "track"].map((a) => `'${a}'`).join(" ");
    // `script` gives track a pseudo-terminal; its stdin is forwarded as keystrokes.
    const proc = Bun.spawn(["script", "-qec", `stty cols 200 rows 40; exec ${cmd}`, "/dev/null"], { cwd: sb.root, env: { ...sb.env, TERM: "xterm" }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    let out = "";
    (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += dec.decode(chunk, { stream: true });
    })();
    try {
      await waitFor("the first frame", () => out.includes("\x1b[?1049h") && out.includes(team.manager!.id));
      expect(out).not.toContain("$1.2345");
      patchSession(team.manager!.dir, { costUsd: 1.2345 });
      await waitFor("a redraw with the new cost", () => out.includes("$1.2345"));
      proc.stdin.write("q");
      proc.stdin.flush();
      expect(await proc.exited).toBe(0);
      expect(out.trimEnd().endsWith("\x1b[?1049l")).toBe(true);
    } finally {
      proc.kill("SIGKILL");
    }
  });
});

describe("team stop", () => {
  test("agents left by a crashed orchestrator: whole process groups stopped, sessions marked, stale pid file removed; idempotent", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 1, 0);
    // One agent with a child in its group: the group must go, not only its leader.
    const a = await leftoverAgent(sb, team.manager!, ["sh", "-c", "sleep 300 & sleep 300; wait"]);
    const b = await leftoverAgent(sb, team["engineer-1"]!);
    S.track(a.pid);
    S.track(b.pid);
    await waitFor("both sleeps of the first agent", () => processesOfWorkspace(sb.workspace).length >= 4);
    writeFileSync(join(sb.workspace, ".orchestrator.json"), JSON.stringify({ pid: await deadPid(), startTime: "1", startedAt: new Date().toISOString(), version: "x" }));

    const r = await run(sb, ["team", "stop"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Stopped 2 agents left running");
    expect(r.stdout).toContain("Marked 3 sessions stopped");
    expect(processesOfWorkspace(sb.workspace)).toEqual([]);
    expect(alive(a.pid) || alive(b.pid)).toBe(false);
    for (const m of Object.values(team)) expect(session(m.dir)).toMatchObject({ status: "stopped", pid: null });
    expect(existsSync(join(sb.workspace, ".orchestrator.json"))).toBe(false);

    const before = Object.values(team).map((m) => readFileSync(join(m.dir, "session.json"), "utf8"));
    const again = await run(sb, ["team", "stop"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to stop");
    expect(Object.values(team).map((m) => readFileSync(join(m.dir, "session.json"), "utf8"))).toEqual(before);

    // A stopped team is paused, not gone: a new one needs --new.
    expect((await run(sb, ["team", "start", "next goal"])).code).toBe(4);
    expect((await run(sb, ["team", "start", "next goal", "--new"])).code).toBe(0);
  });

  test("a running orchestrator gets SIGTERM and stops its own agents; nothing is left", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 1, 0);
    const a = await leftoverAgent(sb, team.manager!);
    S.track(a.pid);
    const orch = await fakeOrchestrator(sb);
    S.track(orch.pid);

    const r = await run(sb, ["team", "stop", "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.orchestrator).toEqual({ pid: orch.pid, killed: false });
    // The orchestrator stopped the agent itself: team stop found nothing left to kill.
    expect(report.agents).toEqual([]);
    expect(await orch.proc.exited).toBe(0);
    expect(processesOfWorkspace(sb.workspace)).toEqual([]);
    for (const m of Object.values(team)) expect(session(m.dir).status).toBe("stopped");
    expect(existsSync(join(sb.workspace, ".orchestrator.json"))).toBe(false);
  });

  test("an orchestrator that ignores SIGTERM is killed, then its agents are stopped", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    const a = await leftoverAgent(sb, team.architect!);
    S.track(a.pid);
    const orch = await fakeOrchestrator(sb, { ignoreTerm: true });
    S.track(orch.pid);

    const r = await run({ root: sb.root, env: { ...sb.env, CLAUDE_WRAPPER_ORCHESTRATOR_GRACE_MS: "300" } }, ["team", "stop"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Stopped the orchestrator (PID ${orch.pid}) (it ignored SIGTERM: killed)`);
    expect(r.stdout).toContain(`${team.architect!.id} (PID ${a.pid})`);
    expect(orch.proc.signalCode ?? (await orch.proc.exited, orch.proc.signalCode)).toBe("SIGKILL");
    expect(processesOfWorkspace(sb.workspace)).toEqual([]);
    expect(existsSync(join(sb.workspace, ".orchestrator.json"))).toBe(false);
  });

  test("never signals a PID that now belongs to another program", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    const stranger = unrelatedProcess();
    const stranger2 = unrelatedProcess();
    S.track(stranger.pid);
    S.track(stranger2.pid);
    patchSession(team.manager!.dir, { status: "active", pid: stranger.pid, pidStartTime: "1" });
    writeFileSync(join(sb.workspace, ".orchestrator.json"), JSON.stringify({ pid: stranger2.pid, startTime: "1", startedAt: "", version: "x" }));

    const r = await run(sb, ["team", "stop"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Removed the record of an orchestrator that was already gone");
    expect(r.stdout).toContain("Marked 2 sessions stopped");
    expect(r.stdout).not.toContain("Stopped");
    expect(alive(stranger.pid) && alive(stranger2.pid)).toBe(true);
    expect(stranger.exitCode ?? stranger2.exitCode).toBeNull();
    expect(session(team.manager!.dir).status).toBe("stopped");
    expect(existsSync(join(sb.workspace, ".orchestrator.json"))).toBe(false);
  });

  test("finds an agent the orchestrator spawned but crashed before recording", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    const a = await leftoverAgent(sb, team.manager!, ["sleep", "300"], false);
    S.track(a.pid);
    expect(session(team.manager!.dir).pid).toBeNull();

    const r = await run(sb, ["team", "stop", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).agents).toEqual([{ id: team.manager!.id, pid: a.pid }]);
    expect(alive(a.pid)).toBe(false);
    expect(processesOfWorkspace(sb.workspace)).toEqual([]);
  });

  test("a corrupt session.json is named and left as it is, never overwritten", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    writeFileSync(join(team.manager!.dir, "session.json"), "{broken");
    const r = await run(sb, ["team", "stop"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Left ${team.manager!.id} as it is: session.json is corrupt`);
    expect(readFileSync(join(team.manager!.dir, "session.json"), "utf8")).toBe("{broken");
    expect(session(team.architect!.dir).status).toBe("stopped");
  });

  test("no workspace: nothing to stop, exit 0", async () => {
    const sb = S.box();
    const r = await run(sb, ["team", "stop"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Nothing to stop");
  });
});
