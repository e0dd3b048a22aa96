/**
 * `team start`: the layout it writes, its JSON, the one-live-team rule, and every way the input
 * can be wrong. All through the CLI entry as real processes in real temp dirs.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseTasks } from "../core/workspace/tasks";
import { listEntries } from "../core/workspace/paths";
import { readJsonFile, run, sessionDirs, sandboxes } from "./helpers";

const SESSION_FIELDS = [
  "id",
  "persona",
  "name",
  "status",
  "createdAt",
  "startedAt",
  "pid",
  "pidStartTime",
  "agentSessionId",
  "requestedBy",
  "restarts",
  "exitCode",
  "costUsd",
  "inputTokens",
  "outputTokens",
  "turns",
  "error",
];
const DIR_RE = /^(engineering-manager|solutions-architect|software-engineer|intern)-(\d{13})$/;
const HEADER_RE = /^## Instructions from user \((\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\)$/m;

const box = sandboxes("cw-team-start-");
afterEach(box.cleanup);

/** Every entry under `dir`, with file contents and link targets: equal listings = nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const rel = relative(dir, p);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[rel] = `link -> ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = "dir";
        walk(p);
      } else out[rel] = `file ${st.mode.toString(8)} ${readFileSync(p, "utf8")}`;
    }
  };
  walk(dir);
  return out;
}

/** One line on stderr, a non-zero exit, no stack frames. */
function expectOneLineError(r: { code: number; stdout: string; stderr: string }, code?: number): string {
  if (code === undefined) expect(r.code).not.toBe(0);
  else expect(r.code).toBe(code);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]!.length).toBeGreaterThan(10);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain("\x1b[");
  return r.stderr;
}

/** The ```bash block a persona's instructions give for asking for a teammate. */
function requestSnippet(personaInstructions: string): string {
  // The persona text has several shell recipes (assign, ask, request): the request is the mkdir one.
  const m = [...personaInstructions.matchAll(/```bash\n([\s\S]*?)\n```/g)].find((b) => b[1]!.startsWith("mkdir -p"));
  if (!m) throw new Error("no ```bash request example in persona-instructions.md");
  return m[1]!;
}

function localStampNear(match: RegExpExecArray, before: number, after: number): boolean {
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const t = new Date(y!, mo! - 1, d!, h!, mi!, s!).getTime();
  return t >= Math.floor(before / 1000) * 1000 && t <= after;
}

describe("team start layout", () => {
  test("--engineers 2 --interns 1 lays out five complete session dirs", async () => {
    const sb = box();
    const goal = "Build a URL shortener with an HTTP API";
    const before = Date.now();
    const r = await run(sb, ["team", "start", goal, "--engineers", "2", "--interns", "1"]);
    const after = Date.now();
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);

    // Besides the session dirs: ROSTER.md, the team roster (see roster.test.ts).
    const dirs = readdirSync(sb.workspace).filter((n) => !n.startsWith(".") && n !== "ROSTER.md");
    expect(dirs).toHaveLength(5);
    for (const d of dirs) expect(d).toMatch(DIR_RE);
    const byPersona = (p: string) => dirs.filter((d) => d.startsWith(`${p}-`)).sort();
    expect(byPersona("engineering-manager")).toHaveLength(1);
    expect(byPersona("solutions-architect")).toHaveLength(1);
    expect(byPersona("software-engineer")).toHaveLength(2);
    expect(byPersona("intern")).toHaveLength(1);

    const names: Record<string, string> = {};
    for (const d of dirs) {
      const dir = join(sb.workspace, d);
      const [, persona, ms] = DIR_RE.exec(d)!;
      // The id is Date.now() at creation (bumped only to stay unique).
      expect(Number(ms)).toBeGreaterThanOrEqual(before);
      expect(Number(ms)).toBeLessThanOrEqual(after + 100);

      expect(readdirSync(dir).sort()).toEqual(["instructions.md", "persona-instructions.md", "session.json", "tasks.md", "tracker.json"]);

      const s = readJsonFile(join(dir, "session.json"));
      for (const f of SESSION_FIELDS) expect(s).toHaveProperty(f);
      expect(s.id).toBe(d);
      expect(s.persona).toBe(persona);
      expect(s.status).toBe("pending");
      expect(s.pid).toBeNull();
      expect(s.startedAt).toBeNull();
      expect(s.agentSessionId).toBeNull();
      expect(s.requestedBy).toBeNull();
      expect(s.restarts).toBe(0);
      expect(s.costUsd).toBe(0);
      expect(s.error).toBeNull();
      const created = Date.parse(s.createdAt);
      expect(created).toBeGreaterThanOrEqual(before);
      expect(created).toBeLessThanOrEqual(after);
      names[d] = s.name;

      const tasks = parseTasks(readFileSync(join(dir, "tasks.md"), "utf8"));
      expect(tasks.length).toBeGreaterThanOrEqual(1);
      expect(tasks.every((t) => t.status === "pending")).toBe(true);

      expect(readJsonFile(join(dir, "tracker.json"))).toEqual({ instructionsOffset: 0 });

      const instr = readFileSync(join(dir, "instructions.md"), "utf8");
      const hdr = HEADER_RE.exec(instr);
      expect(hdr).not.toBeNull();
      expect(instr.startsWith(hdr![0])).toBe(true);
      expect(localStampNear(hdr!, before, after)).toBe(true);

      const pi = readFileSync(join(dir, "persona-instructions.md"), "utf8");
      expect(pi).not.toMatch(/\{\{[^}]*\}\}/);
      expect(pi).toContain(dir);
      expect(pi).toContain(d);
      expect(pi).toContain(goal);
      if (persona === "intern") expect(pi).toContain("cannot request");
      else {
        expect(pi).toContain("-request-<short-name>");
        expect(pi).toContain("instructions.md");
      }
    }

    expect(names[byPersona("engineering-manager")[0]!]).toBe("manager");
    expect(names[byPersona("solutions-architect")[0]!]).toBe("architect");
    expect(byPersona("software-engineer").map((d) => names[d]).sort()).toEqual(["engineer-1", "engineer-2"]);
    expect(names[byPersona("intern")[0]!]).toBe("intern-1");

    // The goal: the manager's first task, and in the manager's and architect's instructions.
    const mgr = join(sb.workspace, byPersona("engineering-manager")[0]!);
    expect(parseTasks(readFileSync(join(mgr, "tasks.md"), "utf8"))[0]).toEqual({ title: goal, status: "pending" });
    for (const d of [mgr, join(sb.workspace, byPersona("solutions-architect")[0]!)]) {
      const instr = readFileSync(join(d, "instructions.md"), "utf8");
      expect(instr.slice(instr.indexOf(")\n") + 2)).toContain(goal);
    }

    // The text output names every member.
    for (const d of dirs) expect(r.stdout).toContain(d);
    expect(r.stdout).not.toContain("\x1b[");
  });

  test("the request example in persona-instructions.md works from the project root", async () => {
    const sb = box();
    expect((await run(sb, ["team", "start", "x"])).code).toBe(0);
    const mgr = sessionDirs(sb.workspace, "engineering-manager")[0]!;
    const snippet = requestSnippet(readFileSync(join(sb.workspace, mgr, "persona-instructions.md"), "utf8")).replaceAll("<short-name>", "db-schema");
    const sh = Bun.spawnSync(["bash", "-euc", snippet], { cwd: sb.root, stderr: "pipe" });
    expect(sh.stderr.toString()).toBe("");
    expect(sh.exitCode).toBe(0);
    const req = listEntries(sb.workspace).filter((e) => e.kind === "request");
    expect(req).toEqual([{ kind: "request", dir: "solutions-architect-request-db-schema", persona: "solutions-architect", name: "db-schema", symlink: false }]);
    expect(readFileSync(join(sb.workspace, req[0]!.dir, "instructions.md"), "utf8")).toContain(`## Instructions from ${mgr}`);
  });

  test("--json prints the workspace, the goal and one row per session", async () => {
    const sb = box();
    const r = await run(sb, ["team", "start", "  ship it  ", "--engineers=1", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(["baseCommit", "branch", "goal", "sessions", "verify", "workspace", "worktrees"]);
    expect(out.workspace).toBe(sb.workspace);
    expect(out.goal).toBe("ship it");
    expect(out.sessions.map((s: any) => s.name)).toEqual(["manager", "architect", "engineer-1"]);
    for (const s of out.sessions) {
      expect(Object.keys(s).sort()).toEqual(["dir", "id", "model", "name", "persona"]);
      expect(s.id).toMatch(DIR_RE);
      expect(s.id.startsWith(`${s.persona}-`)).toBe(true);
      expect(s.dir).toBe(join(sb.workspace, s.id));
      expect(readJsonFile(join(s.dir, "session.json")).name).toBe(s.name);
    }
    expect(sessionDirs(sb.workspace).sort()).toEqual(out.sessions.map((s: any) => s.id).sort());
  });
});

test("a multi-line goal: its first line is the manager's task, all of it is in instructions.md", async () => {
  const sb = box();
  const goal = "Build a CLI for notes\n\nRequirements:\n- add, list, delete\n- **Status**: not a status line of the task";
  expect((await run(sb, ["team", "start", goal])).code).toBe(0);
  const mgr = join(sb.workspace, sessionDirs(sb.workspace, "engineering-manager")[0]!);
  expect(parseTasks(readFileSync(join(mgr, "tasks.md"), "utf8"))).toEqual([{ title: "Build a CLI for notes", status: "pending" }]);
  expect(readFileSync(join(mgr, "instructions.md"), "utf8")).toContain(goal);
});

describe("one live team per workspace", () => {
  test("a second team start is refused with exit 4 and changes nothing", async () => {
    const sb = box();
    expect((await run(sb, ["team", "start", "first goal", "--engineers", "1"])).code).toBe(0);
    const before = snapshot(sb.root);
    const r = await run(sb, ["team", "start", "second goal", "--interns", "2"]);
    expectOneLineError(r, 4);
    expect(r.stderr).toContain("team stop");
    expect(r.stdout).toBe("");
    expect(snapshot(sb.root)).toEqual(before);
  });

  test("concurrent team starts: exactly one wins", async () => {
    const sb = box();
    const results = await Promise.all([1, 2, 3, 4].map((i) => run(sb, ["team", "start", `goal ${i}`])));
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of results.filter((r) => r.code !== 0)) expectOneLineError(r, 4);
    expect(sessionDirs(sb.workspace)).toHaveLength(2);
  });

  test("a team start in progress elsewhere (its lock held) is a one-line refusal; a stale lock is taken over", async () => {
    const sb = box();
    mkdirSync(join(sb.workspace, ".team.lock"), { recursive: true });
    const r = await run(sb, ["team", "start", "g"]);
    expectOneLineError(r, 4);
    expect(r.stderr).toContain("another `team start`");
    expect(sessionDirs(sb.workspace)).toEqual([]);
    // A lock left by a crashed `team start` a minute ago is stale.
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(sb.workspace, ".team.lock"), old, old);
    const ok = await run(sb, ["team", "start", "g"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(sessionDirs(sb.workspace)).toHaveLength(2);
    expect(existsSync(join(sb.workspace, ".team.lock"))).toBe(false);
  }, 30_000);

  test("a live team is refused; a paused one says how to resume it (or start anew beside it)", async () => {
    const sb = box();
    expect((await run(sb, ["team", "start", "old goal"])).code).toBe(0);
    const paths = sessionDirs(sb.workspace).map((d) => join(sb.workspace, d, "session.json"));
    const mark = (path: string, status: string) => writeFileSync(path, JSON.stringify({ ...readJsonFile(path), status }));
    // The architect failed, the manager is still at it: a live team.
    mark(paths.find((p) => p.includes("solutions-architect"))!, "failed");
    mark(paths.find((p) => p.includes("engineering-manager"))!, "idle");
    expect(expectOneLineError(await run(sb, ["team", "start", "new goal"]), 4)).toContain("live team");
    // Stopped (or failed): paused, only a person continues it.
    mark(paths.find((p) => p.includes("engineering-manager"))!, "stopped");
    const paused = expectOneLineError(await run(sb, ["team", "start", "new goal"]), 4);
    expect(paused).toContain("team resume");
    expect(paused).toContain("--new");
    const r = await run(sb, ["team", "start", "new goal", "--new", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).sessions).toHaveLength(2);
    expect(sessionDirs(sb.workspace)).toHaveLength(4);
  });

  test("once its manager's work is archived the team is done: what it left behind does not hold a new one back", async () => {
    const sb = box();
    expect((await run(sb, ["team", "start", "old goal"])).code).toBe(0);
    const [architect] = sessionDirs(sb.workspace, "solutions-architect");
    const [manager] = sessionDirs(sb.workspace, "engineering-manager");
    renameSync(join(sb.workspace, manager!), join(sb.workspace, `${manager}-completed`));
    const archPath = join(sb.workspace, architect!, "session.json");
    writeFileSync(archPath, JSON.stringify({ ...readJsonFile(archPath), status: "failed" }));
    const r = await run(sb, ["team", "start", "new goal", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).sessions).toHaveLength(2);
    expect(sessionDirs(sb.workspace)).toHaveLength(3);
    expect(existsSync(join(sb.workspace, `${manager}-completed`))).toBe(true);
    // The new team is the current one: the old architect is out of the default listing.
    const rows = JSON.parse((await run(sb, ["attach", "--list", "--json"])).stdout) as Array<{ id: string }>;
    expect(rows.map((x) => x.id)).not.toContain(architect);
  });
});

describe("bad input is refused with one line and creates nothing", () => {
  const cases: Array<[string, string[]]> = [
    ["empty goal", ["team", "start", ""]],
    ["whitespace goal", ["team", "start", "  \t\n "]],
    ["no goal", ["team", "start"]],
    ["--engineers -1", ["team", "start", "g", "--engineers", "-1"]],
    ["--engineers=-1", ["team", "start", "g", "--engineers=-1"]],
    ["--engineers abc", ["team", "start", "g", "--engineers", "abc"]],
    ["--engineers 1.5", ["team", "start", "g", "--engineers", "1.5"]],
    ["--engineers 999", ["team", "start", "g", "--engineers", "999"]],
    ["--engineers 1e1", ["team", "start", "g", "--engineers", "1e1"]],
    ["--engineers empty", ["team", "start", "g", "--engineers="]],
    ["--interns -1", ["team", "start", "g", "--interns", "-1"]],
    ["--interns abc", ["team", "start", "g", "--interns", "abc"]],
    ["--interns 1.5", ["team", "start", "g", "--interns", "1.5"]],
    ["--interns 999", ["team", "start", "g", "--interns", "999"]],
    ["unknown flag", ["team", "start", "g", "--managers", "2"]],
    ["unknown short flag", ["team", "start", "g", "-x"]],
    ["missing value at the end", ["team", "start", "g", "--engineers"]],
    ["missing value before a flag", ["team", "start", "g", "--interns", "--json"]],
    ["missing workspace value", ["team", "start", "g", "--workspace"]],
  ];
  for (const [what, args] of cases) {
    test(what, async () => {
      const sb = box();
      const before = snapshot(sb.root);
      const r = await run(sb, args);
      expectOneLineError(r);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(existsSync(sb.workspace)).toBe(false);
      expect(snapshot(sb.root)).toEqual(before);
    });
  }

  test("the messages say what is wrong", async () => {
    const sb = box();
    expect((await run(sb, ["team", "start", "g", "--engineers", "abc"])).stderr).toMatch(/--engineers.*whole number.*"abc"/);
    expect((await run(sb, ["team", "start", "g", "--interns", "999"])).stderr).toMatch(/--interns.*at most 20/);
    expect((await run(sb, ["team", "start", "g", "--managers", "2"])).stderr).toContain("--managers");
    expect((await run(sb, ["team", "start", "g", "--engineers"])).stderr).toContain("--engineers needs a value");
    expect((await run(sb, ["team", "start", " "])).stderr).toContain("goal is empty");
    // The cap itself is allowed.
    const r = await run(sb, ["team", "start", "g", "--engineers", "20", "--interns", "0", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).sessions).toHaveLength(22);
  });
});

describe("where the workspace is", () => {
  test("--workspace wins over CLAUDE_WRAPPER_WORKSPACE, which wins over ./.database", async () => {
    const sb = box();
    const envWs = join(sb.root, "from-env");
    const env = { ...sb.env, CLAUDE_WRAPPER_WORKSPACE: envWs };

    const flagged = await run({ root: sb.root, env }, ["team", "start", "g", "--workspace", "from-flag", "--json"]);
    expect(flagged.code).toBe(0);
    expect(JSON.parse(flagged.stdout).workspace).toBe(join(sb.root, "from-flag"));
    expect(sessionDirs(join(sb.root, "from-flag"))).toHaveLength(2);
    expect(existsSync(envWs)).toBe(false);

    const short = await run({ root: sb.root, env }, ["team", "start", "g", "-w", join(sb.root, "abs", "ws"), "--json"]);
    expect(short.code).toBe(0);
    expect(sessionDirs(join(sb.root, "abs", "ws"))).toHaveLength(2);

    const fromEnv = await run({ root: sb.root, env }, ["team", "start", "g", "--json"]);
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout).workspace).toBe(envWs);
    expect(sessionDirs(envWs)).toHaveLength(2);

    const noEnv = { ...sb.env };
    delete noEnv.CLAUDE_WRAPPER_WORKSPACE;
    const sub = join(sb.root, "project");
    mkdirSync(sub);
    const byDefault = await run({ root: sub, env: noEnv }, ["team", "start", "g", "--json"]);
    expect(byDefault.code).toBe(0);
    expect(JSON.parse(byDefault.stdout).workspace).toBe(join(sub, ".database"));
    expect(sessionDirs(join(sub, ".database"))).toHaveLength(2);
  });

  test("a workspace path with spaces and non-ASCII characters", async () => {
    const sb = box();
    const ws = join(sb.root, "my team's dir", "ワーク ü $HOME");
    const r = await run(sb, ["team", "start", "Ünïcödé goal — ✓", "--engineers", "1", "--workspace", ws, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).workspace).toBe(ws);
    const dirs = sessionDirs(ws);
    expect(dirs).toHaveLength(3);
    const mgr = dirs.find((d) => d.startsWith("engineering-manager-"))!;
    const pi = readFileSync(join(ws, mgr, "persona-instructions.md"), "utf8");
    expect(pi).toContain(join(ws, mgr));
    expect(pi).toContain("Ünïcödé goal — ✓");
    expect(readFileSync(join(ws, mgr, "tasks.md"), "utf8")).toContain("## Task: Ünïcödé goal — ✓");
    // The shell example still works with such a path (run from the project root, the
    // workspace's parent).
    const snippet = requestSnippet(pi).replaceAll("<short-name>", "api");
    const sh = Bun.spawnSync(["bash", "-euc", snippet], { cwd: join(ws, ".."), stderr: "pipe" });
    expect(sh.stderr.toString()).toBe("");
    expect(existsSync(join(ws, "solutions-architect-request-api", "instructions.md"))).toBe(true);
  });

  test("a workspace path that is a file, or below a file, is a clear error", async () => {
    const sb = box();
    const file = join(sb.root, "notes.txt");
    writeFileSync(file, "keep me\n");
    const before = snapshot(sb.root);
    const r = await run(sb, ["team", "start", "g", "--workspace", file]);
    expectOneLineError(r);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain("not a directory");
    const below = await run(sb, ["team", "start", "g", "--workspace", join(file, "ws")]);
    expectOneLineError(below);
    expect(below.stderr).toContain(join(file, "ws"));
    expect(below.stderr).toMatch(/cannot create workspace .*: a parent of it is a file/);
    expect(snapshot(sb.root)).toEqual(before);
  });
});
