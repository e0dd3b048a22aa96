/**
 * What a person reads: `orchestrate`'s human log redirected to a pipe (as `> team.log` would),
 * with the simulated agent and with the fake claude. Every line carries its time; a normal end
 * is news, not a warning; a failure keeps its fix word for word.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { humanLine } from "../core/supervisor/events";
import { type Sandbox, cliArgv, killWorkspaceProcesses, run, sandbox, waitFor } from "./helpers";

setDefaultTimeout(90_000);

let sb: Sandbox | undefined;
let proc: ReturnType<typeof Bun.spawn> | undefined;
afterEach(async () => {
  if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  await proc?.exited;
  proc = undefined;
  if (sb) {
    killWorkspaceProcesses(sb.workspace);
    sb.cleanup();
  }
  sb = undefined;
});

/** `orchestrate` in human mode, its stdout and stderr collected as they come. */
function orchestrateHuman(s: Sandbox, extra: string[]) {
  const p = Bun.spawn([...cliArgv(), "orchestrate", ...extra], { cwd: s.root, env: s.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  proc = p;
  const out = { stdout: "", stderr: "" };
  const collect = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out[key] += decoder.decode(chunk, { stream: true });
  };
  const done = Promise.all([collect(p.stdout as ReadableStream<Uint8Array>, "stdout"), collect(p.stderr as ReadableStream<Uint8Array>, "stderr")]);
  return {
    out,
    waitFor: (what: string, pred: (text: string) => boolean, ms = 60_000) => waitFor(what, () => pred(out.stdout), ms),
    async stop(): Promise<number> {
      p.kill("SIGTERM");
      const code = await p.exited;
      await done;
      return code;
    },
  };
}

const STAMP = /^\d\d:\d\d:\d\d /;

describe("orchestrate's human log, redirected", () => {
  test("every line starts with HH:MM:SS; a normal exit and our own stop are not warnings", async () => {
    sb = sandbox("cw-output-");
    Object.assign(sb.env, { CLAUDE_WRAPPER_SIM_PACE: "0", CLAUDE_WRAPPER_STOP_GRACE_MS: "300" });
    expect((await run(sb, ["team", "start", "Greet in three languages"])).code).toBe(0);

    const o = orchestrateHuman(sb, ["--agent", "sim"]);
    await o.waitFor("the manager archived", (t) => /📦 Archived to \S*engineering-manager-\d+-completed/.test(t));
    expect(await o.stop()).toBe(0);

    const lines = o.out.stdout.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect({ line, stamped: STAMP.test(line) }).toEqual({ line, stamped: true });
    expect(o.out.stdout).not.toContain("\x1b[");
    expect(o.out.stdout).toContain("finished its turn");
    expect(o.out.stdout).toMatch(/🛑 SIGTERM: stopping the team's agents/);
    // Nothing here went wrong: no warning, no failure, and nothing on stderr.
    expect(o.out.stdout).not.toContain("⚠️");
    expect(o.out.stdout).not.toContain("❌");
    expect(o.out.stderr).toBe("");
  });

  test("a failure is one ❌ line in the log with its fix intact, backticks and all", async () => {
    sb = sandbox("cw-output-");
    Object.assign(sb.env, { CLAUDE_WRAPPER_STOP_GRACE_MS: "300", CLAUDE_WRAPPER_BACKOFF_MS: "50" });
    sb.behave("manager", `result 0 true "Not logged in · Please run /login"; exit 1`);
    expect((await run(sb, ["team", "start", "Build it"])).code).toBe(0);

    const o = orchestrateHuman(sb, []);
    await o.waitFor("the manager failed", (t) => t.includes("failed:"));
    await o.stop();

    const failed = o.out.stdout.split("\n").filter((l) => l.includes("failed:"));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/^\d\d:\d\d:\d\d ❌ engineering-manager-\d+ \(manager\) failed: /);
    expect(failed[0]).toContain("run `claude` and /login");
    // The non-zero exit before it is a warning, in the same log.
    expect(o.out.stdout).toMatch(/^\d\d:\d\d:\d\d ⚠️ {2}Process \d+ of \S+ \(manager\) exited \(code 1\)$/m);
  });

  test("the sim agent's not-logged-in failure reads the same way", async () => {
    sb = sandbox("cw-output-");
    Object.assign(sb.env, { CLAUDE_WRAPPER_SIM_PACE: "0", CLAUDE_WRAPPER_SIM_FAIL: "auth", CLAUDE_WRAPPER_STOP_GRACE_MS: "300" });
    expect((await run(sb, ["team", "start", "Build it"])).code).toBe(0);

    const o = orchestrateHuman(sb, ["--agent", "sim"]);
    await o.waitFor("a failure", (t) => t.includes("failed:"));
    await o.stop();
    const failed = o.out.stdout.split("\n").find((l) => l.includes("failed:"))!;
    expect(failed).toMatch(/^\d\d:\d\d:\d\d ❌ /);
    expect(failed).toContain("`claude`");
  });
});

describe("human lines for the team's milestones", () => {
  const at = { ts: new Date().toISOString() };
  test("team-done, merged, merge-conflict, verify-failed", () => {
    const done = humanLine({ ...at, event: "team-done", manager: "engineering-manager-1", summary: "/ws/engineering-manager-1-completed/summary.md", costUsd: 1.5, elapsedMs: 125_000 });
    expect(done.text).toContain("Team done in 2m 05s");
    expect(done.text).toContain("$1.5000");
    expect(done.text).toContain("/ws/engineering-manager-1-completed/summary.md");
    expect(done.failure).toBeFalsy();

    const merged = humanLine({ ...at, event: "merged", session: "software-engineer-1", name: "engineer-1", branch: "claude-wrapper/software-engineer-1", into: "team/greeter", commit: "0123456789abcdef", files: ["a.ts", "b.ts"] });
    expect(merged.text).toBe("🔀 Merged software-engineer-1 (engineer-1) into team/greeter as 0123456789ab (2 files)");

    const conflict = humanLine({ ...at, event: "merge-conflict", session: "software-engineer-1", files: ["src/a.ts"] });
    expect(conflict).toMatchObject({ failure: true });
    expect(conflict.text).toContain("src/a.ts");

    const verify = humanLine({ ...at, event: "verify-failed", session: "software-engineer-1", tail: "1 test failed: `npm test`\n" });
    expect(verify).toMatchObject({ failure: true });
    expect(verify.text).toContain("1 test failed: `npm test`");
  });

  test("an exit: code 0 is news, our own stop is news, anything else a warning", () => {
    const exited = (f: Record<string, unknown>) => humanLine({ ...at, event: "exited", session: "intern-1", pid: 42, ...f });
    expect(exited({ code: 0, signal: null })).toMatchObject({ text: "🏁 intern-1 finished its turn (PID 42, exit 0)" });
    expect(exited({ code: null, signal: "SIGTERM", stoppedBy: "orchestrator" }).warning).toBeFalsy();
    expect(exited({ code: null, signal: "SIGTERM" }).warning).toBe(true);
    expect(exited({ code: 1, signal: null }).warning).toBe(true);
  });
});
