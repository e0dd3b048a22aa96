/**
 * `orchestrate` through real processes: the CLI under test, a fake `claude` first on PATH that
 * acts as each test tells it (test/fixtures/claude), real signals, real temp dirs.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Sandbox,
  archiveDirs,
  fakeCalls,
  orchestratorPool,
  processAlive,
  processesOfWorkspace,
  readJsonFile,
  run,
  sandbox,
  sessionByName,
  sessionDirs,
  waitFor,
} from "./helpers";
import { inotifyWatches } from "./helpers-git-team";

setDefaultTimeout(60_000);

let sb: Sandbox;
const pool = orchestratorPool();
const start = (extra: string[] = []) => pool.start(sb, extra);
const calls = fakeCalls;
const byName = (name: string) => sessionByName(sb.workspace, name);

async function team(goal = "Build it", extra: string[] = []) {
  const r = await run(sb, ["team", "start", goal, ...extra]);
  expect(r.code).toBe(0);
}

function fast(env: Record<string, string> = {}) {
  Object.assign(sb.env, { CLAUDE_WRAPPER_STOP_GRACE_MS: "300", CLAUDE_WRAPPER_BACKOFF_MS: "50", CLAUDE_WRAPPER_MAX_RESTARTS: "2", ...env });
}

afterEach(() => pool.teardown(sb));

describe("orchestrate", () => {
  test("manager → engineer → intern chain runs to archive, requesters woken", async () => {
    sb = sandbox();
    fast();
    sb.behave(
      "engineering-manager",
      // Woken also when the architect completes (nobody requested it, so the manager is told): ask once.
      `if ! grep -q "Teammate software-engineer" "$dir/instructions.md"; then
  if [ -e "$dir/asked" ]; then result 0; exit 0; fi
  touch "$dir/asked"; request software-engineer api "Build the API"; result 0.01; exit 0
fi
complete_all_tasks; result 0.02`,
    );
    sb.behave(
      "software-engineer",
      `if ! grep -q "Teammate intern" "$dir/instructions.md"; then request intern tests "Write the tests"; result 0.03; exit 0; fi
complete_all_tasks; result 0.04`,
    );
    sb.behave("intern", "complete_all_tasks; result 0.05");
    sb.behave("solutions-architect", "complete_all_tasks; result 0.06");
    await team();
    const o = start();
    await o.waitEvent((e) => e.event === "archived" && e.persona === "engineering-manager", "manager archived", 20_000);

    expect(sessionDirs(sb.workspace)).toEqual([]);
    expect(archiveDirs(sb.workspace).map((d) => d.replace(/-\d+-completed$/, ""))).toEqual(
      ["engineering-manager", "intern", "software-engineer", "solutions-architect"],
    );
    const eng = byName("api")!;
    const intern = byName("tests")!;
    const mgr = byName("manager")!;
    expect(readJsonFile(join(eng, "session.json")).requestedBy).toBe(mgr.split("/").pop()!.replace(/-completed$/, ""));
    expect(readJsonFile(join(intern, "session.json")).requestedBy).toBe(eng.split("/").pop()!.replace(/-completed$/, ""));
    // Every file kept in the archive.
    for (const f of ["session.json", "tasks.md", "instructions.md", "tracker.json", "persona-instructions.md", "agent.jsonl", "agent.stderr.log"]) {
      expect(existsSync(join(eng, f))).toBe(true);
    }
    // The engineer ran twice: first with --session-id, then resumed with the same id and the news.
    const [first, second] = calls(eng);
    const sid = first!.argv[first!.argv.indexOf("--session-id") + 1];
    expect(second!.argv).toContain("--resume");
    expect(second!.argv[second!.argv.indexOf("--resume") + 1]).toBe(sid);
    expect(second!.argv.at(-1)).toContain("Teammate intern-");
    expect(readJsonFile(join(mgr, "session.json")).costUsd).toBeCloseTo(0.03, 6);
    const order = o.events.map((e) => e.event);
    expect(order).toContain("spawned");
    expect(order).toContain("completed");
    expect(o.events.filter((e) => e.event === "request-rejected")).toEqual([]);
  });

  test("a request is claimed whether its file comes with the dir, moments later, or long after", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", "result 0.01"); // agents take their turn and go idle
    await team();
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.persona === "engineering-manager", "manager idle");

    const write = (name: string) =>
      writeFileSync(join(sb.workspace, `intern-request-${name}`, "instructions.md"), `## Instructions from user\n\nDo ${name}\n`);
    // mkdir -p of a nested path and the file at once (the watcher sees none of it below the dir)
    mkdirSync(join(sb.workspace, "intern-request-together"), { recursive: true });
    write("together");
    // the dir first, the file after the watcher has surely added the dir
    mkdirSync(join(sb.workspace, "intern-request-later"));
    await Bun.sleep(300); // the gap under test, not a wait for a result
    write("later");
    for (const name of ["together", "later"]) {
      await o.waitEvent((e) => e.event === "spawned" && e.name === name, `spawn of ${name}`);
    }
    expect(existsSync(join(sb.workspace, "intern-request-together"))).toBe(false);
    expect(existsSync(join(sb.workspace, "intern-request-later"))).toBe(false);
    const dir = byName("later")!;
    expect(readFileSync(join(dir, "instructions.md"), "utf8")).toContain("Do later");
    expect(readFileSync(join(dir, "tasks.md"), "utf8")).toMatch(/## Task: Do later\n- \*\*Status\*\*: pending/);
    expect(readFileSync(join(dir, "persona-instructions.md"), "utf8")).toContain(dir);
  });

  test("150 requests still being written: the watches stay bounded (one per dir, 64 more at most); each is claimed once written", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", "result 0.01");
    await team();
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.persona === "engineering-manager", "manager idle");
    const names = Array.from({ length: 150 }, (_, i) => `pending-${i}`);
    for (const n of names) mkdirSync(join(sb.workspace, `intern-request-${n}`));
    const dirs = () => readdirSync(sb.workspace, { withFileTypes: true }).filter((e) => e.isDirectory()).length;
    // The tree watcher has one watch per dir (and the workspace); the uncoalesced ones are the
    // top level and at most 64 of the requests. Looked at once the tree watcher has them all.
    const watches = await waitFor("the tree watcher on every request dir", () => {
      const w = inotifyWatches(o.proc.pid);
      return w >= dirs() + 1 + 64 ? w : undefined;
    });
    expect(watches).toBeLessThanOrEqual(dirs() + 1 + 1 + 64 + 8); // + a few session dirs in flux
    for (const n of names) writeFileSync(join(sb.workspace, `intern-request-${n}`, "instructions.md"), `## Instructions from user\n\nDo ${n}\n`);
    await waitFor("all claimed", () => names.every((n) => o.events.some((e) => e.event === "spawned" && e.name === n)), 60_000);
    for (const n of names) expect(o.events.filter((e) => e.event === "spawned" && e.name === n)).toHaveLength(1);
  });

  test("a burst of concurrent requests from several processes: each claimed exactly once", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", "result 0.01");
    await team();
    const o = start();
    await o.waitEvent((e) => e.event === "started", "started");
    const writers = Array.from({ length: 4 }, (_, w) =>
      Bun.spawn(["bash", "-c", `for i in $(seq 1 15); do d="$0/intern-request-w${w}-$i"; mkdir "$d"; printf '## Instructions from user\\n\\nTask %s\\n' "$i" > "$d/instructions.md"; done`, sb.workspace]),
    );
    await Promise.all(writers.map((p) => p.exited));
    await waitFor("60 interns spawned", () => o.events.filter((e) => e.event === "spawned" && e.persona === "intern").length >= 60, 45_000);
    await waitFor("no request dirs left", () => !readdirSync(sb.workspace).some((d) => d.includes("-request-")));
    const interns = sessionDirs(sb.workspace, "intern");
    expect(interns.length).toBe(60);
    const names = interns.map((d) => readJsonFile(join(sb.workspace, d, "session.json")).name).sort();
    expect(new Set(names).size).toBe(60);
    await waitFor("every intern's agent ran", () => interns.every((d) => existsSync(join(sb.workspace, d, "agent.jsonl")) && readFileSync(join(sb.workspace, d, "agent.jsonl"), "utf8").includes('"result"')));
    for (const d of interns) expect(calls(join(sb.workspace, d)).length).toBe(1);
    expect(o.events.filter((e) => e.event === "spawned" && e.persona === "intern").length).toBe(60);
  });

  test("bad requests are left untouched, rejected once each, and the orchestrator keeps going", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", "result 0.01");
    await team();
    const outside = join(sb.root, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "instructions.md"), "## Instructions from user\n\nsteal\n");
    const mk = (dir: string, text = "## Instructions from user\n\nx\n") => {
      mkdirSync(join(sb.workspace, dir));
      writeFileSync(join(sb.workspace, dir, "instructions.md"), text);
    };
    mk("wizard-request-magic"); // unknown persona
    mk("intern-request-Bad_Name"); // bad name
    symlinkSync(outside, join(sb.workspace, "intern-request-linked")); // symlinked dir
    mkdirSync(join(sb.workspace, "intern-request-linkfile"));
    symlinkSync(join(outside, "instructions.md"), join(sb.workspace, "intern-request-linkfile", "instructions.md"));
    const o = start();
    for (const r of ["wizard-request-magic", "intern-request-Bad_Name", "intern-request-linked", "intern-request-linkfile"]) {
      await o.waitEvent((e) => e.event === "request-rejected" && e.request === r, `rejection of ${r}`);
    }
    // Still alive and working: a good request after the bad ones is served.
    mk("intern-request-good");
    await o.waitEvent((e) => e.event === "spawned" && e.name === "good", "good request spawned");
    // Touching a bad request again does not repeat its rejection.
    writeFileSync(join(sb.workspace, "wizard-request-magic", "instructions.md"), "## Instructions from user\n\ny\n");
    mk("intern-request-good2");
    await o.waitEvent((e) => e.event === "spawned" && e.name === "good2", "second good request");
    for (const r of ["wizard-request-magic", "intern-request-Bad_Name", "intern-request-linked", "intern-request-linkfile"]) {
      expect(o.events.filter((e) => e.event === "request-rejected" && e.request === r).length).toBe(1);
      expect(existsSync(join(sb.workspace, r))).toBe(true);
    }
    expect(readFileSync(join(outside, "instructions.md"), "utf8")).toBe("## Instructions from user\n\nsteal\n");
    expect(readdirSync(outside)).toEqual(["instructions.md"]);
  });

  test("exit 0 with open tasks → idle (not respawned); failures back off, then fail", async () => {
    sb = sandbox();
    fast();
    sb.behave("manager", "result 0.01");
    sb.behave("architect", `echo boom >&2; exit 3`);
    await team();
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    const failed = await o.waitEvent((e) => e.event === "failed" && e.name === "architect", "architect failed", 15_000);
    expect(failed.reason).toContain("3 times");
    const restarts = o.events.filter((e) => e.event === "restarting" && e.name === "architect");
    expect(restarts.map((e) => e.attempt)).toEqual([1, 2]);
    expect(restarts[1]!.delayMs).toBe(2 * restarts[0]!.delayMs);
    expect(calls(byName("architect")!).length).toBe(3);
    expect(calls(byName("manager")!).length).toBe(1);
    expect(readJsonFile(join(byName("architect")!, "session.json")).status).toBe("failed");
  });

  test("a completed session's hanging agent is stopped (SIGKILL when it ignores SIGTERM) and archived", async () => {
    sb = sandbox();
    fast();
    sb.behave("manager", `trap '' TERM; complete_all_tasks; result 0.01; while true; do sleep 0.1; done`);
    sb.behave("architect", "result 0.01");
    await team();
    const o = start();
    const spawned = await o.waitEvent((e) => e.event === "spawned" && e.name === "manager", "manager spawned");
    await o.waitEvent((e) => e.event === "archived" && e.name === "manager", "manager archived");
    // Gone, not merely signalled: a zombie not yet reaped still answers kill(pid, 0).
    expect(processAlive(spawned.pid)).toBe(false);
    const exit = o.events.find((e) => e.event === "exited" && e.name === "manager")!;
    expect(exit.pid).toBe(spawned.pid);
  });

  test("--max-agents: the rest wait as queued and start when a slot frees", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", `while [ ! -f "$dir/release" ]; do sleep 0.05; done; result 0.01`);
    await team("Build it", ["--engineers", "2"]);
    const o = start(["--max-agents", "2"]);
    await waitFor("2 spawned", () => o.events.filter((e) => e.event === "spawned").length === 2);
    const queued = () => sessionDirs(sb.workspace).filter((d) => readJsonFile(join(sb.workspace, d, "session.json")).status === "queued");
    await waitFor("2 queued", () => queued().length === 2);
    const first = o.events.find((e) => e.event === "spawned")!;
    writeFileSync(join(sb.workspace, first.session, "release"), "");
    await waitFor("a third spawned", () => o.events.filter((e) => e.event === "spawned").length === 3);
    expect(queued().length).toBe(1);
  });

  test("one orchestrator per workspace; a dead one's lock is taken over", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", "result 0.01");
    await team();
    const a = start();
    await a.waitEvent((e) => e.event === "started", "first started");
    const second = await run(sb, ["orchestrate", "--json"], { timeoutMs: 10_000 });
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`PID ${a.proc.pid}`);
    await a.stop("SIGKILL");
    const b = start();
    await b.waitEvent((e) => e.event === "started", "second started after kill -9");
    expect(readJsonFile(join(sb.workspace, ".orchestrator.json")).pid).toBe(b.proc.pid);
  });

  test("kill -9 of the orchestrator: running agents are adopted, never started twice", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", `while [ ! -f "$dir/release" ]; do sleep 0.05; done; complete_all_tasks; result 0.01`);
    await team();
    const a = start();
    await waitFor("both spawned", () => a.events.filter((e) => e.event === "spawned").length === 2);
    await a.stop("SIGKILL");
    const b = start();
    await waitFor("both adopted", () => b.events.filter((e) => e.event === "adopted").length === 2);
    expect(b.events.filter((e) => e.event === "spawned")).toEqual([]);
    for (const e of b.events.filter((x) => x.event === "adopted")) writeFileSync(join(sb.workspace, e.session, "release"), "");
    await waitFor("both archived", () => b.events.filter((e) => e.event === "archived").length === 2, 15_000);
    for (const d of archiveDirs(sb.workspace)) expect(calls(join(sb.workspace, d)).length).toBe(1);
  });

  test("SIGINT stops every agent, marks them stopped, exits 0, leaves no process", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", `sleep 300 & wait`); // an agent with a child of its own
    await team("Build it", ["--engineers", "1"]);
    const o = start();
    await waitFor("3 spawned", () => o.events.filter((e) => e.event === "spawned").length === 3);
    expect(await o.stop("SIGINT")).toBe(0);
    expect(processesOfWorkspace(sb.workspace)).toEqual([]);
    for (const d of sessionDirs(sb.workspace)) expect(readJsonFile(join(sb.workspace, d, "session.json")).status).toBe("stopped");
    expect(o.events.filter((e) => e.event === "stopped" && e.session).length).toBe(3);
    expect(existsSync(join(sb.workspace, ".orchestrator.json"))).toBe(false);
  });
});

describe("orchestrate: crashes", () => {
  test("kill -9 mid-burst, then restart: every request claimed exactly once, nothing left behind", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", "result 0.01");
    await team();
    const a = start();
    await a.waitEvent((e) => e.event === "started", "started");
    const writers = Array.from({ length: 4 }, (_, w) =>
      Bun.spawn(["bash", "-c", `for i in $(seq 1 40); do d="$0/intern-request-w${w}-$i"; mkdir "$d"; printf '## Instructions from user\\n\\nTask %s\\n' "$i" > "$d/instructions.md"; done`, sb.workspace]),
    );
    await waitFor("some claimed", () => a.events.filter((e) => e.event === "spawned" && e.persona === "intern").length >= 10);
    await a.stop("SIGKILL");
    await Promise.all(writers.map((p) => p.exited));
    const b = start();
    await waitFor("no request dirs left", () => !readdirSync(sb.workspace).some((d) => d.includes("-request-")), 45_000);
    const interns = () => sessionDirs(sb.workspace, "intern");
    await waitFor("160 intern sessions ran", () => interns().length === 160 && interns().every((d) => existsSync(join(sb.workspace, d, "agent.jsonl")) && readFileSync(join(sb.workspace, d, "agent.jsonl"), "utf8").includes('"result"')), 45_000);
    const names = interns().map((d) => readJsonFile(join(sb.workspace, d, "session.json")).name);
    expect(new Set(names).size).toBe(160);
    for (const d of interns()) {
      expect(calls(join(sb.workspace, d)).length).toBe(1);
      expect(existsSync(join(sb.workspace, d, ".request"))).toBe(false);
      expect(readJsonFile(join(sb.workspace, d, "session.json")).request ?? null).toBeNull();
    }
    expect(b.events.filter((e) => e.event === "request-rejected")).toEqual([]);
  });
});
