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

describe("the current team", () => {
  /**
   * Team A is done (its manager archived) but left engineer-1 idle; team B starts after it, and
   * its own engineer-1 is already archived. Names now answer for B; A shows only with --all.
   */
  async function twoTeams() {
    const sb = S.box();
    const a = await startTeam(sb, 1, 0);
    patchSession(a.manager!.dir, { status: "completed" });
    renameSync(a.manager!.dir, `${a.manager!.dir}-completed`);
    patchSession(a["engineer-1"]!.dir, { status: "idle" });
    patchSession(a.architect!.dir, { status: "stopped" });
    const b = await startTeam(sb, 2, 0);
    patchSession(b["engineer-1"]!.dir, { status: "completed" });
    renameSync(b["engineer-1"]!.dir, `${b["engineer-1"]!.dir}-completed`);
    return { sb, a, b };
  }
  const shellEnv = (env: Record<string, string>) => ({ ...env, SHELL: "/bin/sh" });

  test("a done team does not hold the next `team start` back", async () => {
    const { b } = await twoTeams();
    expect(Object.keys(b).sort()).toEqual(["architect", "engineer-1", "engineer-2", "manager"]);
  });

  test("views show the current team's sessions; --all adds earlier teams' and archived ones", async () => {
    const { sb, a, b } = await twoTeams();
    const rows = JSON.parse((await run(sb, ["attach", "--list", "--json"])).stdout) as Array<{ id: string; name: string }>;
    expect(rows.map((r) => r.id)).toEqual([b.manager!.id, b.architect!.id, b["engineer-2"]!.id]);

    const human = await run(sb, ["attach", "--list"]);
    expect(human.stdout).not.toContain(a["engineer-1"]!.id);
    expect(human.stdout).toContain("2 sessions of earlier teams not shown");

    const all = JSON.parse((await run(sb, ["attach", "--list", "--all", "--json"])).stdout) as Array<{ id: string }>;
    expect(all.map((r) => r.id).sort()).toEqual([...Object.values(a), ...Object.values(b)].map((m) => m.id).sort());

    const status = JSON.parse((await run(sb, ["team", "status", "--json"])).stdout);
    expect(status.sessions.map((r: { id: string }) => r.id).sort()).toEqual(Object.values(b).map((m) => m.id).sort());
    expect(status.earlier).toBe(3);
    expect(status.team).toMatchObject({ goal: "Build a todo app", done: false });
    const statusAll = JSON.parse((await run(sb, ["team", "status", "--json", "--all"])).stdout);
    expect(statusAll.sessions).toHaveLength(7);

    const track = await run(sb, ["track"]);
    expect(track.stdout).toContain(b.manager!.id);
    expect(track.stdout).not.toContain(a["engineer-1"]!.id);
  });

  test("a name means the current team's session, even archived, over an earlier team's live one", async () => {
    const { sb, b } = await twoTeams();
    const env = { root: sb.root, env: shellEnv(sb.env) };
    const eng = await run(env, ["attach", "engineer-1"], { stdin: "pwd\n" });
    expect(eng.stdout.trim()).toBe(`${b["engineer-1"]!.dir}-completed`);
    const manager = await run(env, ["attach"], { stdin: "pwd\n" });
    expect(manager.stdout.trim()).toBe(b.manager!.dir);
    const logs = await run(sb, ["logs", "engineer-1"]);
    expect(logs.stderr).toContain(b["engineer-1"]!.id);
    const told = await run(sb, ["tell", "manager", "hello", "--json"]);
    expect(JSON.parse(told.stdout).session).toBe(b.manager!.id);
  });

  test("when the manager's work is archived, status and track say the team is done", async () => {
    const sb = S.box();
    const team = await startTeam(sb, 0, 0);
    patchSession(team.manager!.dir, { status: "completed", costUsd: 0.5 });
    renameSync(team.manager!.dir, `${team.manager!.dir}-completed`);
    for (const args of [["team", "status"], ["track"]]) {
      const r = await run(sb, args);
      expect(r.stdout).toContain("goal Build a todo app");
      expect(r.stdout).toMatch(/✔ done in \S+, \$0\.5000 in total/);
      expect(r.stdout).not.toContain("no sessions yet");
    }
    expect(JSON.parse((await run(sb, ["team", "status", "--json"])).stdout).team.done).toBe(true);
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
