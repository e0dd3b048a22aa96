/**
 * Faults and bad input (issue 7), through real processes: the CLI under test, the fake `claude`
 * (test/fixtures/claude), real SIGKILLs, real temp dirs. Every wait is a bounded poll of real
 * state; the few sleeps that remain create a gap under test and say so.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type OrchestratorProc,
  type Sandbox,
  archiveDirs,
  fakeCalls,
  orchestratorPool,
  processesOfWorkspace,
  readJsonFile,
  removeTree,
  run,
  sandbox,
  sessionByName,
  sessionDirs,
  waitFor,
} from "./helpers";

setDefaultTimeout(60_000);

let sb: Sandbox;
const pool = orchestratorPool();
const start = (extra: string[] = []) => pool.start(sb, extra);

function fast(env: Record<string, string> = {}) {
  Object.assign(sb.env, {
    CLAUDE_WRAPPER_STOP_GRACE_MS: "300",
    CLAUDE_WRAPPER_BACKOFF_MS: "50",
    CLAUDE_WRAPPER_MAX_RESTARTS: "2",
    CLAUDE_WRAPPER_ADOPTED_CHECK_MS: "100",
    ...env,
  });
}

const calls = fakeCalls;

function ls(): string[] {
  return readdirSync(sb.workspace);
}

const byName = (name: string) => sessionByName(sb.workspace, name);

function status(dir: string): string {
  return readJsonFile(join(dir, "session.json")).status;
}

function ranOnce(dir: string): boolean {
  const f = join(dir, "agent.jsonl");
  return existsSync(f) && readFileSync(f, "utf8").includes('"result"');
}

/** Wait for a child that dies by SIGKILL (a crash point) and answer how it ended. */
async function died(o: OrchestratorProc, what: string): Promise<string | null> {
  await waitFor(what, () => o.proc.exitCode !== null || o.proc.signalCode !== null, 20_000);
  return o.proc.signalCode as string | null;
}

afterEach(async () => {
  await pool.teardown(sb);
  sb = undefined as unknown as Sandbox;
});

describe("faults: burst", () => {
  test(
    "1,000 requests from 5 processes, orchestrator SIGKILLed mid-burst and restarted: each claimed once, never two agents at once",
    async () => {
      sb = sandbox();
      fast();
      mkdirSync(sb.workspace);
      const log = join(sb.root, "fake.log");
      sb.env.DOUBLE_LOG = log;
      // An agent that takes its turn and exits at once; a lock dir per session proves that no
      // two agents of one session ever overlap (a second one finds the dir and says DOUBLE).
      sb.behave("default", `mkdir "$dir/.running" 2>/dev/null || echo "DOUBLE $CLAUDE_WRAPPER_SESSION_ID" >> "$DOUBLE_LOG"; result 0.001; rmdir "$dir/.running"`);
      const a = start();
      await a.waitEvent((e) => e.event === "started", "started");
      const writers = Array.from({ length: 5 }, (_, w) =>
        Bun.spawn([
          "bash",
          "-c",
          `for i in $(seq 1 200); do d="$0/intern-request-w${w}-$i"; mkdir "$d"; printf '## Instructions from user\\n\\nTask %s of writer %s\\n' "$i" "${w}" > "$d/instructions.md"; done`,
          sb.workspace,
        ]),
      );
      await waitFor("some spawned", () => a.events.filter((e) => e.event === "spawned").length >= 150, 60_000);
      await a.stop("SIGKILL"); // the crash under test, in the middle of the burst
      await Promise.all(writers.map((p) => p.exited));
      const b = start();
      await waitFor("no request dirs left", () => !ls().some((d) => d.includes("-request-")), 60_000);
      const interns = () => sessionDirs(sb.workspace, "intern");
      await waitFor("1,000 sessions ran", () => interns().length === 1000 && interns().every((d) => ranOnce(join(sb.workspace, d))), 90_000, 200);
      const names = interns().map((d) => readJsonFile(join(sb.workspace, d, "session.json")).name);
      expect(new Set(names).size).toBe(1000);
      for (let w = 0; w < 5; w++) for (let i = 1; i <= 200; i++) expect(names).toContain(`w${w}-${i}`);
      for (const d of interns()) {
        const dir = join(sb.workspace, d);
        expect(calls(dir).length).toBe(1);
        expect(existsSync(join(dir, ".request"))).toBe(false);
        expect(readJsonFile(join(dir, "session.json")).request ?? null).toBeNull();
      }
      expect(existsSync(log) ? readFileSync(log, "utf8") : "").not.toContain("DOUBLE");
      expect([...a.events, ...b.events].filter((e) => e.event === "request-rejected")).toEqual([]);
    },
    150_000,
  );
});

/** Every crash point core/base/crash.ts declares (read from the source, so a new one is covered). */
const CRASH_POINTS = [...readFileSync(join(import.meta.dir, "../core/base/crash.ts"), "utf8").matchAll(/^\s*\|\s*"([a-z-]+:[a-z-]+)"/gm)].map((m) => m[1]!);

describe("faults: crash points", () => {
  test("core/base/crash.ts declares the crash points", () => {
    expect(CRASH_POINTS.length).toBeGreaterThanOrEqual(7);
  });

  test.each(CRASH_POINTS)("SIGKILL at %s, then a restart converges: nothing lost, nothing doubled", async (point) => {
    const o = await crashThenRestart(point);
    await converged(o);
  });

  test("SIGKILL after an agent started but before its PID was recorded, the agent still running: adopted, not started again", async () => {
    // Every agent holds its first turn until the test releases it, so the restarted
    // orchestrator finds the one started just before the crash alive (found by its environment).
    const o = await crashThenRestart("spawn:started", `[ "$(wc -l < "$dir/fake-claude.calls.jsonl")" -gt 1 ] || while [ ! -f "$CLAUDE_WRAPPER_WORKSPACE/../release" ]; do sleep 0.05; done`);
    const adopted = await o.waitEvent((e) => e.event === "adopted", "the running agent adopted");
    await waitFor("both agents running", () => o.events.filter((e) => e.event === "spawned" || e.event === "adopted").length === 2);
    const rec = readJsonFile(join(sb.workspace, adopted.session, "session.json"));
    expect(rec.pid).toBe(adopted.pid);
    expect(rec.runs).toBe(1);
    expect(readJsonFile(join(sb.workspace, adopted.session, "tracker.json")).instructionsOffset).toBe(
      readFileSync(join(sb.workspace, adopted.session, "instructions.md")).length,
    );
    writeFileSync(join(sb.root, "release"), "");
    await converged(o);
  });
});

/**
 * A team whose manager asks for an intern, goes idle, and finishes once told the intern
 * completed; the intern finishes at once; the architect takes a turn and stays idle. An
 * orchestrator runs it with CLAUDE_WRAPPER_CRASH_AT=<point> until it SIGKILLs itself there;
 * then a normal one is started.
 */
async function crashThenRestart(point: string, prelude = ""): Promise<OrchestratorProc> {
  sb = sandbox();
  fast();
  sb.behave(
    "engineering-manager",
    `${prelude}
if ! grep -q "Teammate intern-" "$dir/instructions.md"; then request intern job "Do the job"; result 0.01; exit 0; fi
complete_all_tasks; result 0.02`,
  );
  sb.behave("solutions-architect", `${prelude}\nresult 0.01`);
  sb.behave("intern", `${prelude}\ncomplete_all_tasks; result 0.03`);
  expect((await run(sb, ["team", "start", "Build it"])).code).toBe(0);

  const crashing = pool.start({ ...sb, env: { ...sb.env, CLAUDE_WRAPPER_CRASH_AT: point } });
  expect(await died(crashing, `the orchestrator to die at ${point}`)).toBe("SIGKILL");
  return start();
}

/** Every request became one session, every agent ran as often as it should, all archived whole. */
async function converged(o: OrchestratorProc): Promise<void> {
  await o.waitEvent((e) => e.event === "archived" && e.name === "manager", "manager archived", 20_000);
  await waitFor("architect idle", () => status(byName("architect")!) === "idle");

  // Exactly one intern; the manager and the intern archived; nothing else left.
  expect(archiveDirs(sb.workspace, "intern").length).toBe(1);
  expect(archiveDirs(sb.workspace, "engineering-manager").length).toBe(1);
  expect(sessionDirs(sb.workspace)).toEqual([byName("architect")!.split("/").pop()!]);
  expect(ls().filter((d) => d.includes("-request-"))).toEqual([]);
  for (const d of archiveDirs(sb.workspace)) {
    for (const f of ["session.json", "tasks.md", "instructions.md", "tracker.json", "persona-instructions.md", "agent.jsonl", "agent.stderr.log"]) {
      expect(existsSync(join(sb.workspace, d, f))).toBe(true);
    }
    expect(existsSync(join(sb.workspace, d, ".request"))).toBe(false);
    const rec = readJsonFile(join(sb.workspace, d, "session.json"));
    expect(rec.status).toBe("completed");
    expect(rec.request ?? null).toBeNull();
    expect(rec.launch ?? null).toBeNull();
  }
  const mgr = byName("manager")!;
  const intern = byName("job")!;
  // Each agent started exactly as often as it should: the manager twice (first run, then
  // resumed with the news, same conversation), the intern and the architect once.
  const mc = calls(mgr);
  expect(mc.length).toBe(2);
  const sid = mc[0]!.argv[mc[0]!.argv.indexOf("--session-id") + 1];
  expect(mc[1]!.argv).toContain("--resume");
  expect(mc[1]!.argv[mc[1]!.argv.indexOf("--resume") + 1]).toBe(sid);
  expect(mc[1]!.argv.at(-1)).toContain("Teammate intern-");
  expect(readJsonFile(join(mgr, "session.json")).runs).toBe(2);
  expect(calls(intern).length).toBe(1);
  expect(calls(byName("architect")!).length).toBe(1);
  // The requester was told exactly once.
  const told = readFileSync(join(mgr, "instructions.md"), "utf8").match(/Teammate intern-\d+ \(job\) completed/g) ?? [];
  expect(told.length).toBe(1);
  expect(readJsonFile(join(intern, "session.json")).requestedBy).toBe(mgr.split("/").pop()!.replace(/-completed$/, ""));
  expect(o.events.filter((e) => e.event === "request-rejected")).toEqual([]);
  // No agent left running (the orchestrator itself carries the workspace in its env too).
  await waitFor("no agent process left", () => processesOfWorkspace(sb.workspace).every((p) => p === o.proc.pid));
}

describe("faults: agents across an orchestrator crash", () => {
  test("running agents are adopted; ones that ended while it was down are judged from their logs", async () => {
    sb = sandbox();
    fast();
    // Each agent holds its first turn until released; then the manager finishes its tasks, the
    // architect ends its turn cleanly (a result line) and the engineer dies mid-turn (no result).
    const hold = `[ "$(wc -l < "$dir/fake-claude.calls.jsonl")" -gt 1 ] || while [ ! -f "$dir/release" ]; do sleep 0.05; done`;
    sb.behave("engineering-manager", `${hold}\ncomplete_all_tasks; result 0.01`);
    sb.behave("solutions-architect", `${hold}\nresult 0.01`);
    sb.behave("software-engineer", `${hold}\n[ "$(wc -l < "$dir/fake-claude.calls.jsonl")" -gt 1 ] && { result 0.02; exit 0; }\necho '{"type":"assistant","message":{"content":[]}}'; exit 1`);
    expect((await run(sb, ["team", "start", "Build it", "--engineers", "1"])).code).toBe(0);
    const a = start();
    await waitFor("three spawned", () => a.events.filter((e) => e.event === "spawned").length === 3);
    const pidOf = (persona: string) => a.events.find((e) => e.event === "spawned" && e.persona === persona)!;
    await a.stop("SIGKILL");

    // While nobody watches: the architect and the engineer end.
    const arch = pidOf("solutions-architect");
    const eng = pidOf("software-engineer");
    for (const e of [arch, eng]) writeFileSync(join(sb.workspace, e.session, "release"), "");
    await waitFor("architect and engineer ended", () => !processesOfWorkspace(sb.workspace).some((p) => p === arch.pid || p === eng.pid));

    const b = start();
    const adopted = await b.waitEvent((e) => e.event === "adopted", "manager adopted");
    expect(adopted.persona).toBe("engineering-manager");
    expect(adopted.pid).toBe(pidOf("engineering-manager").pid);
    await b.waitEvent((e) => e.event === "idle" && e.session === arch.session, "architect judged idle (finished turn)");
    await b.waitEvent((e) => e.event === "restarting" && e.session === eng.session, "engineer judged interrupted");
    const resumed = await b.waitEvent((e) => e.event === "spawned" && e.session === eng.session, "engineer resumed");
    expect(resumed.resume).toBe(true);
    await b.waitEvent((e) => e.event === "idle" && e.session === eng.session, "engineer's resumed turn ends");

    writeFileSync(join(sb.workspace, adopted.session, "release"), "");
    await b.waitEvent((e) => e.event === "archived" && e.session === adopted.session, "adopted manager completes and is archived");

    // Nobody started twice: the manager and architect ran once, the engineer once more, resumed.
    expect(calls(join(sb.workspace, `${adopted.session}-completed`)).length).toBe(1);
    expect(calls(join(sb.workspace, arch.session)).length).toBe(1);
    const ec = calls(join(sb.workspace, eng.session));
    expect(ec.length).toBe(2);
    expect(ec[1]!.argv[ec[1]!.argv.indexOf("--resume") + 1]).toBe(ec[0]!.argv[ec[0]!.argv.indexOf("--session-id") + 1]);
    expect(b.events.filter((e) => e.event === "spawned" && e.session !== eng.session)).toEqual([]);
    expect(status(join(sb.workspace, arch.session))).toBe("idle");
  });
});

describe("faults: agents that misbehave", () => {
  test("a crash-looping agent backs off (each gap at least the announced delay), then fails", async () => {
    sb = sandbox();
    fast({ CLAUDE_WRAPPER_BACKOFF_MS: "100", CLAUDE_WRAPPER_MAX_RESTARTS: "3" });
    sb.behave("architect", "echo crash >&2; exit 7");
    sb.behave("manager", "result 0.01");
    expect((await run(sb, ["team", "start", "Build it"])).code).toBe(0);
    const o = start();
    const failed = await o.waitEvent((e) => e.event === "failed" && e.name === "architect", "architect failed", 20_000);
    expect(failed.reason).toContain("4 times");
    expect(failed.reason).toContain("exit code 7");
    const restarts = o.events.filter((e) => e.event === "restarting" && e.name === "architect");
    expect(restarts.map((e) => e.delayMs)).toEqual([100, 200, 400]);
    const runs = calls(byName("architect")!);
    expect(runs.length).toBe(4);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.ts - runs[i - 1]!.ts).toBeGreaterThanOrEqual(restarts[i - 1]!.delayMs);
    expect(status(byName("architect")!)).toBe("failed");
    // The healthy teammate was left alone throughout.
    expect(calls(byName("manager")!).length).toBe(1);
  });

  test("an agent that ignores SIGTERM is SIGKILLed when the orchestrator stops", async () => {
    sb = sandbox();
    fast({ CLAUDE_WRAPPER_STOP_GRACE_MS: "500" });
    sb.behave("default", `trap 'echo TERM >> "$dir/signals"' TERM; touch "$dir/ready"; while true; do sleep 0.05; done`);
    expect((await run(sb, ["team", "start", "Build it"])).code).toBe(0);
    const o = start();
    await waitFor("both spawned", () => o.events.filter((e) => e.event === "spawned").length === 2);
    await waitFor("both ignoring SIGTERM", () => sessionDirs(sb.workspace).every((d) => existsSync(join(sb.workspace, d, "ready"))));
    const pids = o.events.filter((e) => e.event === "spawned").map((e) => e.pid as number);
    expect(await o.stop("SIGTERM")).toBe(0);
    for (const pid of pids) expect(processesOfWorkspace(sb.workspace)).not.toContain(pid);
    for (const d of sessionDirs(sb.workspace)) {
      expect(readFileSync(join(sb.workspace, d, "signals"), "utf8")).toContain("TERM"); // asked first
      expect(status(join(sb.workspace, d))).toBe("stopped");
    }
  });
});

/** Every file below `dir` with its bytes (to prove nothing outside the workspace was touched). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, f);
    out[f] = lstatSync(p).isDirectory() ? "<dir>" : readFileSync(p).toString("base64");
  }
  return out;
}

/** Write a request the way an agent's shell does (mkdir, then the file). */
function request(persona: string, name: string, text = `Do ${name}`): void {
  mkdirSync(join(sb.workspace, `${persona}-request-${name}`));
  writeFileSync(join(sb.workspace, `${persona}-request-${name}`, "instructions.md"), `## Instructions from user\n\n${text}\n`);
}

describe("faults: bad input", () => {
  test("corrupt session.json (garbage, NUL bytes, an unknown status): reported once, left untouched, the rest served; a repaired one is picked up", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", "result 0.01");
    expect((await run(sb, ["team", "start", "Build it", "--engineers", "2"])).code).toBe(0);
    const dir = (name: string) => byName(name)!;
    const arch = dir("architect");
    const eng1 = dir("engineer-1");
    const eng2 = dir("engineer-2");
    const good = readFileSync(join(arch, "session.json"));
    // An old run's log with a cost, which the orchestrator would copy into session.json.
    writeFileSync(join(arch, "agent.jsonl"), '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"result":"ok","total_cost_usd":0.5}\n');
    const bad: Record<string, Buffer> = {
      [arch]: Buffer.from('{ "id": "architect", "status": '),
      [eng1]: Buffer.concat([good.subarray(0, 20), Buffer.alloc(64), good.subarray(20)]),
      [eng2]: Buffer.from(JSON.stringify({ ...JSON.parse(readFileSync(join(eng2, "session.json"), "utf8")), status: "exploded" })),
    };
    for (const [d, bytes] of Object.entries(bad)) writeFileSync(join(d, "session.json"), bytes);

    const o = start();
    await o.waitEvent((e) => e.event === "spawned" && e.name === "manager", "manager served");
    for (const d of Object.keys(bad)) {
      const id = d.split("/").pop();
      const failed = await o.waitEvent((e) => e.event === "failed" && e.session === id, `${id} reported`);
      expect(failed.reason).toContain("session.json");
    }
    request("intern", "after");
    await o.waitEvent((e) => e.event === "spawned" && e.name === "after", "a later request served");
    // A change in a corrupt session's dir looks again, reports nothing new, writes nothing.
    writeFileSync(join(arch, "poke"), "");
    request("intern", "after2");
    await o.waitEvent((e) => e.event === "spawned" && e.name === "after2", "a second later request served");
    for (const [d, bytes] of Object.entries(bad)) {
      expect(readFileSync(join(d, "session.json")).equals(bytes)).toBe(true);
      expect(calls(d)).toEqual([]);
      expect(o.events.filter((e) => e.event === "failed" && e.session === d.split("/").pop()).length).toBe(1);
    }
    // Repaired by hand: the session is served like any other.
    writeFileSync(join(arch, "session.json"), good);
    await o.waitEvent((e) => e.event === "spawned" && e.name === "architect", "repaired architect served");
  });

  test("truncated, 20 MB and NUL-filled tasks.md: no stall, a clear message, only a whole complete list completes", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", "result 0.01");
    expect((await run(sb, ["team", "start", "Build it", "--engineers", "1"])).code).toBe(0);
    const mgr = byName("manager")!;
    const arch = byName("architect")!;
    const eng = byName("engineer-1")!;
    // Truncated mid-line: its one task has no readable status.
    writeFileSync(join(mgr, "tasks.md"), "# Tasks\n\n## Task: Build it\n- **Status**: compl");
    // 20 MB of completed tasks: too big to judge, never read whole.
    const block = "## Task: part\n- **Status**: completed\n\n";
    writeFileSync(join(arch, "tasks.md"), block.repeat(Math.ceil((20 * 1024 * 1024) / block.length)));
    // NUL bytes in titles and in a stray line: still a whole, complete list.
    writeFileSync(join(eng, "tasks.md"), "## Task: a\0b\n- **Status**: completed\n\n\0\0\0\n\n## Task: \0\0\n- **Status**: completed\n");

    const o = start();
    await o.waitEvent((e) => e.event === "archived" && e.name === "engineer-1", "NUL-filled but complete list archived");
    await waitFor("a clear message about the 20 MB tasks.md", () => /architect.*tasks\.md is larger than/s.test(o.stderr()));
    await waitFor("manager and architect idle", () => status(mgr) === "idle" && status(arch) === "idle");
    // Other work is still served promptly while the big file sits there.
    request("intern", "quick");
    await o.waitEvent((e) => e.event === "spawned" && e.name === "quick", "a request served", 5_000);
    // Growing the big file again (written aside, then renamed in) does not stall the loop either.
    writeFileSync(join(arch, ".tasks.md.new"), block.repeat(Math.ceil((21 * 1024 * 1024) / block.length)));
    renameSync(join(arch, ".tasks.md.new"), join(arch, "tasks.md"));
    request("intern", "quick2");
    await o.waitEvent((e) => e.event === "spawned" && e.name === "quick2", "another request served", 5_000);
    expect(existsSync(mgr) && existsSync(arch)).toBe(true);
    expect(o.events.filter((e) => e.event === "completed" && (e.name === "manager" || e.name === "architect"))).toEqual([]);
    expect(o.stderr().match(/tasks\.md is larger than/g)?.length).toBe(1); // said once, not per pass
  });

  test("NUL bytes and a huge block in instructions: claimed, resumed with a clean prompt, never failed", async () => {
    sb = sandbox();
    fast();
    sb.behave("default", "result 0.01");
    mkdirSync(sb.workspace);
    const o = start();
    await o.waitEvent((e) => e.event === "started", "started");
    mkdirSync(join(sb.workspace, "intern-request-nul"));
    writeFileSync(join(sb.workspace, "intern-request-nul", "instructions.md"), "## Instructions from user\n\nDo\0 it\0\n");
    await o.waitEvent((e) => e.event === "idle" && e.name === "nul", "request with NUL bytes claimed and run");
    const dir = byName("nul")!;
    // New instructions with NUL bytes, then a block larger than one argv string may be.
    appendFileSync(join(dir, "instructions.md"), "## Instructions from user (2030-01-01 00:00:00)\n\nmore\0work\n\n");
    await waitFor("resumed with the NUL-free news", () => calls(dir).length === 2 && status(dir) === "idle");
    expect(calls(dir)[1]!.argv.at(-1)).toContain("morework");
    // Appended whole (aside, then renamed in), so the orchestrator never sees half of it.
    const big = `${readFileSync(join(dir, "instructions.md"), "utf8")}## Instructions from user (2030-01-01 00:00:01)\n\n${"long line of text\n".repeat(20_000)}\n`;
    writeFileSync(join(dir, ".instructions.md.new"), big);
    renameSync(join(dir, ".instructions.md.new"), join(dir, "instructions.md"));
    await waitFor("resumed despite 340 KB of news", () => calls(dir).length === 3 && status(dir) === "idle");
    const prompt = calls(dir)[2]!.argv.at(-1)!;
    expect(prompt).toContain("more than fits here");
    expect(prompt.length).toBeLessThan(100_000);
    expect(o.events.filter((e) => e.event === "failed")).toEqual([]);
  });

  test("a session dir deleted by hand: a clear message, its agent stopped, the rest served", async () => {
    sb = sandbox();
    fast();
    sb.behave("manager", "result 0.01");
    sb.behave("default", `while true; do sleep 0.05; done`);
    expect((await run(sb, ["team", "start", "Build it"])).code).toBe(0);
    const o = start();
    await o.waitEvent((e) => e.event === "idle" && e.name === "manager", "manager idle");
    const arch = await o.waitEvent((e) => e.event === "spawned" && e.name === "architect", "architect running");
    await removeTree(join(sb.workspace, arch.session));
    const mgr = o.events.find((e) => e.event === "idle" && e.name === "manager")!.session;
    await removeTree(join(sb.workspace, mgr));
    await waitFor("both reported", () => o.stderr().includes(arch.session) && o.stderr().includes(mgr));
    await waitFor("the deleted session's agent stopped", () => !processesOfWorkspace(sb.workspace).includes(arch.pid));
    sb.behave("intern", "result 0.01");
    request("intern", "after");
    await o.waitEvent((e) => e.event === "idle" && e.name === "after", "a later request served");
    expect(o.proc.exitCode).toBeNull();
    expect(existsSync(join(sb.workspace, arch.session))).toBe(false); // not recreated
    expect(existsSync(join(sb.workspace, mgr))).toBe(false);
  });

  test("symlinks pointing outside the workspace: nothing outside touched", async () => {
    sb = sandbox();
    fast();
    sb.behave("engineering-manager", "result 0.01");
    sb.behave("solutions-architect", "result 0.01");
    sb.behave("software-engineer", `if ! grep -q "Teammate intern-" "$dir/instructions.md" 2>/dev/null; then request intern job "Do the job"; fi; result 0.01`);
    sb.behave("intern", "complete_all_tasks; result 0.01");
    expect((await run(sb, ["team", "start", "Build it", "--engineers", "1"])).code).toBe(0);
    const outside = join(sb.root, "outside");
    mkdirSync(join(outside, "sess"), { recursive: true });
    writeFileSync(join(outside, "agent.jsonl"), "precious log\n");
    writeFileSync(join(outside, "tasks.md"), "## Task: x\n- **Status**: completed\n");
    writeFileSync(join(outside, "tracker.json"), '{"instructionsOffset":0}');
    writeFileSync(join(outside, "instructions.md"), "## Instructions from user\n\nprecious\n");
    writeFileSync(join(outside, "sess", "session.json"), JSON.stringify({ id: "intern-1700000000000", persona: "intern", name: "evil", status: "pending" }));
    writeFileSync(join(outside, "sess", "tasks.md"), "## Task: y\n- **Status**: pending\n");
    const before = snapshot(outside);
    const mgr = byName("manager")!;
    const arch = byName("architect")!;
    const eng = byName("engineer-1")!;
    symlinkSync(join(outside, "agent.jsonl"), join(mgr, "agent.jsonl")); // the agent's stdout
    rmSync(join(arch, "tasks.md"));
    symlinkSync(join(outside, "tasks.md"), join(arch, "tasks.md")); // a complete list, elsewhere
    rmSync(join(arch, "tracker.json"), { force: true });
    symlinkSync(join(outside, "tracker.json"), join(arch, "tracker.json"));
    rmSync(join(eng, "instructions.md"));
    symlinkSync(join(outside, "instructions.md"), join(eng, "instructions.md")); // the requester's inbox
    symlinkSync(join(outside, "sess"), join(sb.workspace, "intern-1700000000000")); // a session dir

    const o = start();
    const failed = await o.waitEvent((e) => e.event === "failed" && e.name === "manager", "manager refused");
    expect(failed.reason).toContain("agent.jsonl");
    await o.waitEvent((e) => e.event === "archived" && e.name === "job", "the engineer's intern done");
    // The engineer's inbox is a symlink: left as it is (never followed, never replaced), and a
    // person is told what to do instead.
    await waitFor("the undelivered notice reported", () => o.stderr().includes(`could not tell ${eng.split("/").pop()} that it completed: ${join(eng, "instructions.md")} is a symlink`));
    expect(lstatSync(join(eng, "instructions.md")).isSymbolicLink()).toBe(true);
    await waitFor("architect idle", () => status(arch) === "idle");
    expect(o.events.filter((e) => e.event === "completed" && e.name === "architect")).toEqual([]);
    expect(o.events.filter((e) => e.session === "intern-1700000000000")).toEqual([]);
    expect(snapshot(outside)).toEqual(before);
  });

  test("a workspace path with spaces and non-ASCII: the whole chain works", async () => {
    sb = sandbox("cw test é 日本 ");
    fast();
    expect(sb.workspace).toContain(" ");
    // Woken also when the architect completes (nobody requested it, so the manager is told): ask once.
    sb.behave(
      "engineering-manager",
      `if ! grep -q "Teammate software-engineer" "$dir/instructions.md"; then
  if [ -e "$dir/asked" ]; then result 0; exit 0; fi
  touch "$dir/asked"; request software-engineer api "Build the API"; result 0.01; exit 0
fi
complete_all_tasks; result 0.02`,
    );
    sb.behave("software-engineer", "complete_all_tasks; result 0.03");
    sb.behave("solutions-architect", "complete_all_tasks; result 0.04");
    expect((await run(sb, ["team", "start", "Build it"])).code).toBe(0);
    const o = start();
    await o.waitEvent((e) => e.event === "archived" && e.name === "manager", "manager archived", 20_000);
    expect(archiveDirs(sb.workspace).length).toBe(3);
    const api = byName("api")!;
    expect(readFileSync(join(api, "persona-instructions.md"), "utf8")).toContain(api.replace(/-completed$/, ""));
    expect(calls(api)[0]!.cwd).toBe(sb.root);
    expect(readFileSync(join(byName("manager")!, "instructions.md"), "utf8")).toContain(`Its files (instructions, logs) are all in ${api}.`);
    expect(o.events.filter((e) => e.event === "failed" || e.event === "request-rejected")).toEqual([]);
  });

  test("the file watcher cannot be set up (inotify watch limit): a clear message, requests still served by resync", async () => {
    sb = sandbox();
    fast({ CLAUDE_WRAPPER_FAKE_WATCH_ERROR: "1", CLAUDE_WRAPPER_RESYNC_MS: "200" });
    sb.behave("default", "result 0.01");
    expect((await run(sb, ["team", "start", "Build it"])).code).toBe(0);
    const o = start();
    await o.waitEvent((e) => e.event === "started", "started");
    expect(o.stderr()).toContain("inotify watch limit reached");
    expect(o.stderr()).toContain("max_user_watches");
    expect(o.stderr()).toContain("falling back to periodic resync");
    await waitFor("team idle", () => o.events.filter((e) => e.event === "idle").length === 2);
    request("intern", "polled");
    await o.waitEvent((e) => e.event === "idle" && e.name === "polled", "a request served without a watcher");
    appendFileSync(join(byName("manager")!, "instructions.md"), "## Instructions from user (2030-01-01 00:00:00)\n\nwake up\n\n");
    await o.waitEvent((e) => e.event === "resumed" && e.name === "manager", "an idle agent woken without a watcher");
  });

  test("the file watcher dies while running: a clear message, and the resync takes over at once", async () => {
    sb = sandbox();
    // A resync far beyond the test's waits: only the switch to the short fallback period serves.
    fast({ CLAUDE_WRAPPER_FAKE_WATCH_ERROR: "runtime", CLAUDE_WRAPPER_RESYNC_MS: "600000" });
    sb.behave("default", "result 0.01");
    expect((await run(sb, ["team", "start", "Build it"])).code).toBe(0);
    const o = start();
    await waitFor("the watcher error reported", () => o.stderr().includes("falling back to periodic resync"));
    expect(o.stderr()).toContain("max_user_watches");
    await waitFor("team idle", () => o.events.filter((e) => e.event === "idle").length === 2);
    request("intern", "polled");
    await o.waitEvent((e) => e.event === "idle" && e.name === "polled", "a request served after the watcher died");
    expect(o.proc.exitCode).toBeNull();
  });
});
