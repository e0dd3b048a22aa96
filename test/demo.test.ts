/**
 * `demo` as a newcomer meets it: the hints it prints at the end work when pasted as printed (no
 * claude-wrapper on PATH), `--workspace` puts it where `track -w` can watch, `--slow` paces it.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Sandbox, killWorkspaceProcesses, run, sandbox } from "./helpers";

setDefaultTimeout(120_000);

let sb: Sandbox | undefined;
const workspaces: string[] = [];
afterEach(() => {
  for (const ws of workspaces.splice(0)) killWorkspaceProcesses(ws);
  sb?.cleanup();
  sb = undefined;
});

function demoSandbox(): Sandbox {
  sb = sandbox("cw-demo-");
  // No claude, no claude-wrapper on PATH: what a fresh checkout has.
  sb.env.PATH = "/usr/bin:/bin";
  sb.env.TMPDIR = sb.root;
  return sb;
}

describe("demo", () => {
  test("the closing hints run as printed", async () => {
    const s = demoSandbox();
    const r = await run(s, ["demo"], { timeoutMs: 90_000 });
    expect(r.code).toBe(0);
    const ws = /The workspace is kept at (.+)$/m.exec(r.stdout)![1]!;
    workspaces.push(ws);
    expect(ws.startsWith(s.root)).toBe(true);
    // The log: timestamped lines between the title and the summary.
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d ✔ Done: 4 sessions archived/m);

    const hints = r.stdout.slice(r.stdout.indexOf("Look inside:")).split("\n").slice(1).map((l) => l.trim()).filter(Boolean);
    expect(hints.length).toBeGreaterThanOrEqual(4);
    const watch = /Watch it from another terminal:\n\s+(.+)$/m.exec(r.stdout)![1]!;
    for (const line of [watch, ...hints]) {
      const p = Bun.spawn(["sh", "-c", line], { cwd: s.root, env: { ...s.env, SHELL: "/bin/sh" }, stdin: new TextEncoder().encode("exit 0\n"), stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect({ line, code, err: code ? err : "" }).toEqual({ line, code: 0, err: "" });
      expect(out.length + err.length).toBeGreaterThan(0);
    }
  });

  test("--workspace runs it where asked (track -w can watch it); --slow paces it", async () => {
    const s = demoSandbox();
    const ws = join(s.root, "watch-me", ".database");
    workspaces.push(ws);
    const r = await run(s, ["demo", "--workspace", ws, "--json"], { timeoutMs: 90_000 });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!).summary).toMatchObject({ workspace: ws, finished: true, archived: 4 });
    const track = await run(s, ["track", "-w", ws]);
    expect(track.stdout).toContain("✔ done");

    // Paced, no team gets through in a second: the time limit ends it, exit 1, nothing left running.
    const slowWs = join(s.root, "slow", ".database");
    workspaces.push(slowWs);
    const slow = await run(s, ["demo", "--slow", "--timeout", "1", "--workspace", slowWs], { timeoutMs: 90_000 });
    expect(slow.code).toBe(1);
    expect(slow.stdout).toMatch(/⚠️ {2}Stopped at the time limit/);
    expect(existsSync(slowWs)).toBe(true);
  });

  test("a workspace that holds a live team is refused, nothing started", async () => {
    const s = demoSandbox();
    expect((await run(s, ["team", "start", "mine"])).code).toBe(0);
    const r = await run(s, ["demo", "--workspace", s.workspace]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("already holds a live team");
  });
});
