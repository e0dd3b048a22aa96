/**
 * Faults found by hostile testing (issue 13), on the supervisor's side, through real processes:
 * concurrent starts, a full disk (a real tiny tmpfs), hand edits, the workspace removed under a
 * running orchestrator, kill -9 leftovers. Waits are bounded polls of real state.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Sandbox, cliArgv, orchestratorPool, processAlive, processesOfWorkspace, readJsonFile, removeTree, run, sandbox, sessionByName, sessionDirs, waitFor, waitQuiet } from "./helpers";

setDefaultTimeout(90_000);

let sb: Sandbox;
const pool = orchestratorPool();
const start = (extra: string[] = []) => pool.start(sb, extra);
afterEach(() => pool.teardown(sb));

const byName = (name: string) => sessionByName(sb.workspace, name)!;
const rec = (name: string) => readJsonFile(join(byName(name), "session.json"));

function setup(env: Record<string, string> = {}) {
  sb = sandbox("cw-fsup-");
  Object.assign(sb.env, { CLAUDE_WRAPPER_STOP_GRACE_MS: "300", CLAUDE_WRAPPER_BACKOFF_MS: "50", CLAUDE_WRAPPER_FAULT_BACKOFF_MS: "100", ...env });
}

async function team(extra: string[] = []) {
  expect((await run(sb, ["team", "start", "Build it", ...extra])).code).toBe(0);
}

function request(persona: string, name: string, text = "Do the thing") {
  const dir = join(sb.workspace, `${persona}-request-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "instructions.md"), `## Instructions from user\n\n${text}\n`);
}

const alive = processAlive;

/** `orchestrate` started raw (not through the pool): several at once, exit codes compared. */
function rawOrchestrate() {
  return Bun.spawn([...cliArgv(), "orchestrate", "--json"], { cwd: sb.root, env: sb.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
}

describe("never two orchestrators", () => {
  test("after a kill -9, four started at once: exactly one runs, the others exit 4 naming it; team status and team stop see it", async () => {
    setup();
    sb.behave("default", "result 0.01");
    await team();
    for (let round = 0; round < 4; round++) {
      const procs = Array.from({ length: 4 }, () => rawOrchestrate());
      const refused = procs.map(async (p) => ({ p, code: await p.exited, err: await new Response(p.stderr).text() }));
      // Three refusals arrive; one keeps running.
      const settled: Array<{ p: ReturnType<typeof rawOrchestrate>; code: number; err: string }> = [];
      for (const r of refused) void r.then((x) => settled.push(x));
      await waitFor("three refused", () => settled.length >= 3, 30_000);
      const survivor = procs.find((p) => !settled.some((s) => s.p === p))!;
      expect(settled.length).toBe(3);
      for (const s of settled) {
        expect(s.code).toBe(4);
        expect(s.err).toContain(`PID ${survivor.pid}`);
        expect(s.err.trim().split("\n")).toHaveLength(1);
      }
      const status = JSON.parse((await run(sb, ["team", "status", "--json"])).stdout);
      expect(status.orchestrator?.pid).toBe(survivor.pid);
      if (round % 2 === 0) {
        survivor.kill("SIGKILL"); // a crash: the next round takes over at once
        await survivor.exited;
      } else {
        const stop = JSON.parse((await run(sb, ["team", "stop", "--json"])).stdout);
        expect(stop.orchestrator?.pid).toBe(survivor.pid);
        expect(await survivor.exited).toBe(0);
        expect((await run(sb, ["team", "resume"])).code).toBe(0);
      }
    }
  });

  test("team stop while orchestrate is starting: nothing is left running and nothing started after", async () => {
    setup();
    sb.behave("default", "result 0.01; sleep 30");
    await team(["--engineers", "3"]);
    const o = start();
    const stop = await run(sb, ["team", "stop", "--json"]);
    expect(stop.code).toBe(0);
    const stoppedAt = new Date().toISOString();
    // Whichever won the race, an orchestrator still running now has nothing it may start.
    await o.stop("SIGTERM");
    expect(o.events.filter((e) => e.event === "spawned" && e.ts > stoppedAt)).toEqual([]);
    await waitFor("no agent left", () => processesOfWorkspace(sb.workspace).length === 0);
    for (const d of sessionDirs(sb.workspace)) {
      const r = readJsonFile(join(sb.workspace, d, "session.json"));
      expect(r.status === "stopped" || (r.status === "pending" && r.runs === 0)).toBe(true);
    }
  });
});

describe("a filesystem error never ends the orchestrator", () => {
  const mount = join(tmpdir(), `cw-tmpfs-probe-${process.pid}`);
  mkdirSync(mount, { recursive: true });
  const canMount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]).exitCode === 0;
  if (canMount) Bun.spawnSync(["umount", mount]);
  rmSync(mount, { recursive: true, force: true });

  test.skipIf(!canMount)("a full disk: each session's error said once, retried with backoff, the others served; space freed → it carries on", async () => {
    setup();
    const disk = join(sb.root, "disk");
    mkdirSync(disk);
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", disk]).exitCode).toBe(0);
    try {
      sb.env.CLAUDE_WRAPPER_WORKSPACE = join(disk, ".database");
      sb.workspace = sb.env.CLAUDE_WRAPPER_WORKSPACE;
      sb.behave("manager", "result 0.01");
      sb.behave("intern", "result 0.01");
      // The architect asks for an intern, then fills the disk and ends its turn: recording that
      // end (session.json) fails, and so may claiming the request.
      sb.behave("architect", `request intern while-full "Do it"; sleep 0.2; dd if=/dev/zero of=${join(disk, "filler")} bs=4k 2>/dev/null; result 0.01`);
      await team();
      const o = start();
      await waitFor("the disk-full error reported", () => /ENOSPC|no space/i.test(o.stderr()));
      // Retries happen (backoff 100 ms, doubling) but the same error is not said again.
      await Bun.sleep(1500); // a gap in which several retries fall
      const lines = o.stderr().split("\n").filter((l) => /ENOSPC|no space/i.test(l));
      const perKey = new Map<string, number>();
      for (const l of lines) perKey.set(l.split(":")[0]!, (perKey.get(l.split(":")[0]!) ?? 0) + 1);
      for (const n of perKey.values()) expect(n).toBe(1);
      expect(o.proc.exitCode).toBeNull();
      expect(o.stderr()).not.toMatch(/^\s+at /m);
      // At most one reserved dir for the request, not one every pass.
      expect(sessionDirs(sb.workspace, "intern").length).toBeLessThanOrEqual(1);
      rmSync(join(disk, "filler"));
      await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager served once space is back", 30_000);
      await o.waitEvent((e) => e.event === "idle" && e.name === "while-full", "the request served once space is back", 30_000);
      expect(sessionDirs(sb.workspace, "intern")).toHaveLength(1);
    } finally {
      await pool.teardown(undefined);
      Bun.spawnSync(["umount", "-l", disk]);
    }
  });

  test("an archive that cannot be renamed (the target exists): said once, retried with backoff, archived once unblocked", async () => {
    setup();
    sb.behave("architect", "complete_all_tasks; result 0.01");
    sb.behave("manager", "result 0.01");
    await team();
    const arch = byName("architect");
    const blocker = `${arch}-completed`;
    mkdirSync(join(blocker, "in-the-way"), { recursive: true });
    const o = start();
    await waitFor("the failed rename reported", () => o.stderr().includes(arch.split("/").pop()!) && /ENOTEMPTY|EEXIST|not empty|exists/i.test(o.stderr()));
    await Bun.sleep(1000); // a gap in which several retries fall
    expect(o.stderr().split("\n").filter((l) => /ENOTEMPTY|EEXIST|not empty/i.test(l))).toHaveLength(1);
    expect(readJsonFile(join(arch, "session.json")).fault).toMatch(/ENOTEMPTY|EEXIST|not empty/i);
    rmSync(blocker, { recursive: true });
    await o.waitEvent((e) => e.event === "archived" && e.name === "architect", "archived once unblocked", 30_000);
    expect(readJsonFile(join(blocker, "session.json")).fault ?? null).toBeNull();
  });

  test("the workspace removed under a running orchestrator: it stops its agents and exits 1 saying why", async () => {
    setup();
    sb.behave("default", "result 0.01; sleep 30");
    await team();
    const o = start();
    const a = await o.waitEvent((e) => e.event === "spawned" && e.name === "manager", "manager running");
    await removeTree(sb.workspace);
    expect(await o.proc.exited).toBe(1);
    expect(o.stderr()).toContain("removed or replaced");
    await waitFor("its agents stopped", () => !alive(a.pid));
  });
  test("the workspace lock removed by hand: noticed from its own event (no resync needed), exit 1 saying why", async () => {
    setup({ CLAUDE_WRAPPER_RESYNC_MS: "600000" });
    sb.behave("default", "result 0.01");
    await team();
    const o = start();
    // Quiet first: both turns ended and recorded, so no other event brings the next pass.
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    await o.waitEvent((e) => e.event === "idle" && e.name === "architect", "architect idle");
    await waitFor("both recorded idle", () => rec("manager").status === "idle" && rec("architect").status === "idle");
    await waitQuiet(o.proc.pid);
    rmSync(join(sb.workspace, ".orchestrator.lock"));
    const code = await Promise.race([o.proc.exited, Bun.sleep(30_000).then(() => "still running")]);
    expect(code).toBe(1);
    expect(o.stderr()).toMatch(/lock .* was removed or replaced/);
  });
});

describe("hand edits and leftovers", () => {
  test("a workspace persona with an unknown agent: said once naming the file, at start and when added later; no retry loop", async () => {
    setup();
    sb.behave("default", "result 0.01");
    await team();
    mkdirSync(join(sb.workspace, "personas"));
    const file = join(sb.workspace, "personas", "intern.md");
    writeFileSync(file, "---\nlabel: intern\nagent: bogus\n---\nYou are an intern.\n");
    const o = start();
    await waitFor("the file named at start", () => o.stderr().includes(file) && o.stderr().includes("bogus"));
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "the rest served");
    writeFileSync(join(sb.workspace, "personas", "reviewer.md"), "---\nlabel: reviewer\nagent: gpt-9\n---\nYou review.\n");
    await waitFor("the new file named", () => o.stderr().includes("reviewer.md") && o.stderr().includes("gpt-9"));
    request("reviewer", "x");
    const rejected = await o.waitEvent((e) => e.event === "request-rejected" && e.request === "reviewer-request-x", "its requests rejected");
    expect(rejected.reason).toContain("reviewer");
    expect(o.stderr().split("\n").filter((l) => l.includes("gpt-9"))).toHaveLength(1);
    expect(o.proc.exitCode).toBeNull();
  });

  test("recorded spend never decreases: truncating agent.jsonl keeps the cost, and later turns add to it", async () => {
    setup();
    sb.behave("manager", "result 0.5");
    sb.behave("architect", "result 0.01");
    await team();
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    await waitFor("cost recorded", () => rec("manager").costUsd === 0.5);
    truncateSync(join(byName("manager"), "agent.jsonl"), 0);
    expect((await run(sb, ["tell", "manager", "one more thing"])).code).toBe(0);
    await waitFor("the second turn counted on top", () => rec("manager").costUsd === 1);
    const status = JSON.parse((await run(sb, ["team", "status", "--json"])).stdout);
    expect(status.totals.costUsd).toBeGreaterThanOrEqual(1);
  });

  test("tasks.md rewritten in two quick writes is judged on the second: a pending task keeps the session open", async () => {
    setup({ CLAUDE_WRAPPER_TASKS_SETTLE_MS: "400" });
    // All completed, then (a moment later, within the settle time) a new pending task.
    sb.behave("architect", `complete_all_tasks; sleep 0.05; printf '\\n## Task: One more\\n- **Status**: pending\\n' >> "$dir/tasks.md"; result 0.01`);
    sb.behave("manager", "result 0.01");
    await team();
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.name === "architect", "architect idle (not completed)");
    expect(o.events.some((e) => e.event === "completed" && e.name === "architect")).toBe(false);
    expect(existsSync(byName("architect"))).toBe(true);
  });

  test("after kill -9: tmp files of dead writers and empty session dirs are swept at the next start; team stop finds agents whose dir is gone", async () => {
    setup();
    sb.behave("default", "result 0.01; sleep 30");
    await team();
    const o = start();
    const a = await o.waitEvent((e) => e.event === "spawned" && e.name === "architect", "architect running");
    o.proc.kill("SIGKILL");
    await o.proc.exited;
    // What a writer killed mid-way leaves: a temp file (PID 999999 is not running) and an empty dir.
    writeFileSync(join(byName("manager"), ".session.json.999999.1.tmp"), "{");
    const empty = join(sb.workspace, "software-engineer-1700000000000");
    mkdirSync(empty);
    const old = new Date(Date.now() - 120_000);
    Bun.spawnSync(["touch", "-d", old.toISOString(), empty]);
    rmSync(byName("architect"), { recursive: true, force: true });
    const stop = JSON.parse((await run(sb, ["team", "stop", "--json"])).stdout);
    expect(stop.agents.map((x: { pid: number }) => x.pid)).toContain(a.pid);
    await waitFor("the agent whose dir was removed stopped", () => !alive(a.pid));
    expect((await run(sb, ["team", "resume"])).code).toBe(0);
    const next = start();
    await next.waitEvent((e) => e.event === "started", "started");
    await waitFor("swept", () => !existsSync(empty) && !readdirSync(byName("manager")).some((n) => n.endsWith(".tmp")));
  });

  test("an orchestrator suspended (SIGSTOP) while an agent ends: team status does not call that agent stopped; resumed, it judges the exit", async () => {
    setup();
    sb.behave("manager", `while [ ! -f "$dir/go" ]; do sleep 0.05; done; result 0.01`);
    sb.behave("architect", "result 0.01");
    await team();
    const o = start();
    const a = await o.waitEvent((e) => e.event === "spawned" && e.name === "manager", "manager running");
    o.proc.kill("SIGSTOP");
    try {
      writeFileSync(join(byName("manager"), "go"), "");
      await waitFor("the agent ended", () => !alive(a.pid));
      const status = JSON.parse((await run(sb, ["team", "status", "--json"])).stdout);
      const row = status.sessions.find((r: { name: string }) => r.name === "manager");
      expect(row.status).toBe("active");
      expect(row.pid).toBeNull();
    } finally {
      o.proc.kill("SIGCONT");
    }
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "judged once it runs again");
  });

  test("dirs coming and going while the watcher starts: it still starts (no fall back to polling)", async () => {
    setup();
    sb.behave("default", "result 0.01");
    await team();
    // Dirs vanishing while orchestrate subscribes (archives made, requests claimed, a tree removed):
    // the watch of a dir that is gone fails the whole subscription.
    for (let i = 0; i < 3000; i++) mkdirSync(join(sb.workspace, "x", `a${i}`, "b"), { recursive: true });
    const churn = Bun.spawn(["rm", "-rf", join(sb.workspace, "x")]);
    const o = start();
    await o.waitEvent((e) => e.event === "started", "started");
    await churn.exited;
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager served");
    expect(o.stderr()).not.toContain("periodic resync");
  });
});
