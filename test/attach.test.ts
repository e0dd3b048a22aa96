/**
 * `attach --list` (grouping, --filter, --json, --all, true status of stale PIDs) and `attach`
 * (a shell in a session dir: default manager, by name/id/prefix, unknown names, exit codes,
 * Ctrl-C). Real processes, real temp dirs.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { renameSync } from "node:fs";
import { cliArgv, run, waitFor } from "./helpers";
import { deadPid, leftoverAgent, patchSession, sandboxes, startTeam, unrelatedProcess } from "./helpers-listing";

const S = sandboxes("cw-attach-");
afterEach(() => S.cleanup());

const ROW_KEYS = ["id", "persona", "name", "status", "pid", "startedAt", "dir", "costUsd", "running", "archived"];

describe("attach --list", () => {
  test("groups sessions by persona with their label, live agents with PID and status", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 2, 1);
    const agent = await leftoverAgent(sb, team["engineer-1"]!);
    S.track(agent.pid);

    const r = await run(sb, ["attach", "--list"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    const headings = lines.filter((l) => l && !l.startsWith(" "));
    expect(headings).toEqual(["manager (engineering-manager)", "architect (solutions-architect)", "engineer (software-engineer)", "intern"]);
    const row = lines.find((l) => l.includes(team["engineer-1"]!.id))!;
    expect(row).toContain("engineer-1");
    expect(row).toContain("active");
    expect(row).toContain(String(agent.pid));
    const managerRow = lines.find((l) => l.includes(team.manager!.id))!;
    expect(managerRow).toMatch(/pending\s+-\s+-$/);
    expect(r.stdout).not.toContain("\x1b[");
  });

  test("--filter keeps whole dash-separated words of persona or name", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 2, 1);
    const names = async (filter: string) =>
      (JSON.parse((await run(sb, ["attach", "--list", "--json", "--filter", filter])).stdout) as Array<{ name: string }>).map((r) => r.name).sort();

    expect(await names("engineer")).toEqual(["engineer-1", "engineer-2"]);
    expect(await names("manager")).toEqual(["manager"]);
    expect(await names("software-engineer")).toEqual(["engineer-1", "engineer-2"]);
    expect(await names("engineer-2")).toEqual(["engineer-2"]);
    expect(await names("eng")).toEqual([]);
    expect(await names("engineering")).toEqual(["manager"]);

    const human = await run(sb, ["attach", "--list", "--filter", "engineer"]);
    expect(human.stdout).toContain(team["engineer-2"]!.id);
    expect(human.stdout).not.toContain(team.manager!.id);
    const none = await run(sb, ["attach", "--list", "--filter", "nobody"]);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('No sessions match "nobody"');
  });

  test("--json is an array of rows; archived sessions only with --all", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 1, 0);
    const arch = team.architect!;
    patchSession(arch.dir, { status: "completed", costUsd: 0.25 });
    renameSync(arch.dir, `${arch.dir}-completed`);

    const rows = JSON.parse((await run(sb, ["attach", "--list", "--json"])).stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.name)).toEqual(["manager", "engineer-1"]);
    for (const row of rows) for (const k of ROW_KEYS) expect(row).toHaveProperty(k);
    expect(rows[0]).toMatchObject({ id: team.manager!.id, persona: "engineering-manager", status: "pending", pid: null, dir: team.manager!.dir, costUsd: 0 });

    const all = JSON.parse((await run(sb, ["attach", "--list", "--json", "--all"])).stdout) as Array<Record<string, unknown>>;
    expect(all.map((r) => r.name)).toEqual(["manager", "architect", "engineer-1"]);
    expect(all[1]).toMatchObject({ id: arch.id, status: "completed", archived: true, costUsd: 0.25, dir: `${arch.dir}-completed` });
    const human = await run(sb, ["attach", "--list", "--all"]);
    expect(human.stdout).toMatch(new RegExp(`${arch.id}\\s+completed \\(archived\\)`));
  });

  test("a recorded active session whose PID is dead or reused is not shown as running", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 1, 0);
    const gone = await deadPid();
    const other = unrelatedProcess();
    S.track(other.pid);
    patchSession(team.manager!.dir, { status: "active", pid: gone, pidStartTime: "12345" });
    // A live process of someone else under the recorded PID: its start time differs.
    patchSession(team.architect!.dir, { status: "active", pid: other.pid, pidStartTime: "1" });
    patchSession(team["engineer-1"]!.dir, { status: "restarting", pid: null });

    const rows = JSON.parse((await run(sb, ["attach", "--list", "--json"])).stdout) as Array<Record<string, any>>;
    const by = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(by.manager).toMatchObject({ status: "stopped", recordedStatus: "active", running: false, pid: null });
    expect(by.architect).toMatchObject({ status: "stopped", recordedStatus: "active", running: false, pid: null });
    // Restarting needs an orchestrator to restart it; there is none.
    expect(by["engineer-1"]).toMatchObject({ status: "stopped", running: false });

    const human = (await run(sb, ["attach", "--list"])).stdout;
    expect(human).not.toContain("active");
    expect(human).not.toContain(String(other.pid));
    expect(other.exitCode).toBeNull();
  });

  test("no workspace: exit 3 with how to start one", async () => {
    const sb = S.box();
    const r = await run(sb, ["attach", "--list"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("team start");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("attach", () => {
  const shellEnv = (env: Record<string, string>) => ({ ...env, SHELL: "/bin/sh" });

  test("opens $SHELL in the manager's session dir by default, env set, exit code passes through", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 1, 0);
    const r = await run({ root: sb.root, env: shellEnv(sb.env) }, ["attach"], {
      stdin: 'pwd\necho "id=$CLAUDE_WRAPPER_SESSION_ID dir=$CLAUDE_WRAPPER_SESSION_DIR"\nexit 7\n',
    });
    expect(r.code).toBe(7);
    const [pwd, vars] = r.stdout.trim().split("\n");
    expect(pwd).toBe(team.manager!.dir);
    expect(vars).toBe(`id=${team.manager!.id} dir=${team.manager!.dir}`);
    // The banner goes to stderr, so a piped shell's output stays clean.
    expect(r.stderr).toContain(team.manager!.id);
    expect(r.stderr).toContain("tasks 0/1");
    expect(r.stderr).toContain("tasks.md");
  });

  test("by name, by unique id prefix, and by id", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 2, 0);
    const env = { root: sb.root, env: shellEnv(sb.env) };
    const byName = await run(env, ["attach", "engineer-2"], { stdin: "pwd\n" });
    expect(byName.code).toBe(0);
    expect(byName.stdout.trim()).toBe(team["engineer-2"]!.dir);

    const byPrefix = await run(env, ["attach", "solutions"], { stdin: "pwd\n" });
    expect(byPrefix.stdout.trim()).toBe(team.architect!.dir);

    const byId = await run(env, ["attach", team["engineer-1"]!.id], { stdin: "pwd\n" });
    expect(byId.stdout.trim()).toBe(team["engineer-1"]!.dir);
  });

  test("an unknown name exits 3 and names the closest sessions; an ambiguous prefix exits 2 listing them", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 2, 0);
    const r = await run(sb, ["attach", "enginer-1"]);
    expect(r.code).toBe(3);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('no session "enginer-1"');
    expect(lines[0]).toContain(`engineer-1 (${team["engineer-1"]!.id})`);
    expect(lines[0]).not.toContain("architect");

    const amb = await run(sb, ["attach", "eng"]);
    expect(amb.code).toBe(2);
    expect(amb.stderr).toContain("matches 3 sessions");
    expect(amb.stderr).toContain("engineer-2");
  });

  test("an archived session can be attached by its id", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    const arch = team.architect!;
    patchSession(arch.dir, { status: "completed" });
    renameSync(arch.dir, `${arch.dir}-completed`);
    const r = await run({ root: sb.root, env: shellEnv(sb.env) }, ["attach", arch.id], { stdin: "pwd\nexit 0\n" });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${arch.dir}-completed`);
    expect(r.stderr).toContain("completed (archived)");
  });

  test("Ctrl-C (SIGINT) reaches the shell's world, not the wrapper: it keeps waiting for the shell", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    const proc = Bun.spawn([...cliArgv(), "attach"], { cwd: sb.root, env: shellEnv(sb.env), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    let out = "";
    (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += dec.decode(chunk, { stream: true });
    })();
    proc.stdin.write("echo ready\n");
    proc.stdin.flush();
    await waitFor("the shell to answer", () => out.includes("ready"));
    process.kill(proc.pid, "SIGINT");
    proc.stdin.write("pwd\nexit 5\n");
    proc.stdin.end();
    expect(await proc.exited).toBe(5);
    expect(out).toContain(team.manager!.dir);
  });

  test("--list with a session argument is a usage error", async () => {
    const sb = S.box();
    await startTeam(sb, 0, 0);
    const r = await run(sb, ["attach", "manager", "--list"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--list");
  });
});

describe("listing internals", () => {
  test("matchesFilter and effectiveStatus", async () => {
    const { matchesFilter, effectiveStatus } = await import("../core/views/listing");
    expect(matchesFilter({ persona: "software-engineer", name: "x" }, "engineer")).toBe(true);
    expect(matchesFilter({ persona: "engineering-manager", name: "manager" }, "engineer")).toBe(false);
    expect(matchesFilter({ persona: "intern", name: "intern-1" }, "INTERN")).toBe(true);
    expect(matchesFilter({ persona: "intern", name: "intern-1" }, "1")).toBe(true);
    expect(matchesFilter({ persona: "intern", name: "intern-1" }, "tern")).toBe(false);
    expect(effectiveStatus("active", true, false)).toBe("active");
    expect(effectiveStatus("active", false, true)).toBe("active"); // the orchestrator (maybe suspended) judges it
    expect(effectiveStatus("active", false, false)).toBe("stopped");
    expect(effectiveStatus("restarting", false, true)).toBe("restarting");
    expect(effectiveStatus("restarting", false, false)).toBe("stopped");
    expect(effectiveStatus("idle", false, false)).toBe("idle");
  });
});
