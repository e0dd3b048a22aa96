/**
 * Workspace primitives under real concurrency: session ids claimed from several processes at
 * once, atomic rewrites read by another process, path containment with symlinks, and the
 * classification of what a workspace holds.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isInside, listEntries } from "../core/workspace/paths";
import { BUN, ROOT, type Sandbox, run, sandbox } from "./helpers";

const temps: string[] = [];
function tempDir(prefix = "cw-ws-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}
const sandboxesMade: Sandbox[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const sb of sandboxesMade.splice(0)) sb.cleanup();
});

/** Write a small Bun script that imports from the repo, for running as its own process. */
function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, body.replaceAll("@ROOT@", ROOT));
  return path;
}

async function runAll(argvs: string[][], cwd: string): Promise<Array<{ code: number; stdout: string; stderr: string }>> {
  return Promise.all(
    argvs.map(async (argv) => {
      const p = Bun.spawn(argv, { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
      const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      return { code, stdout, stderr };
    }),
  );
}

describe("allocateSessionDir", () => {
  test("6 processes x 200 claims at once give 1,200 distinct dirs, skipping archived ids", async () => {
    const dir = tempDir();
    const ws = join(dir, "ws");
    mkdirSync(ws);
    // Archives of ids the allocators are about to reach: those names must be skipped, not reused.
    const soon = Date.now();
    const archived = new Set<string>();
    for (let ms = soon; ms < soon + 3000; ms += 7) {
      archived.add(`software-engineer-${ms}`);
      mkdirSync(join(ws, `software-engineer-${ms}-completed`));
    }
    const alloc = script(
      dir,
      "alloc.ts",
      `import { allocateSessionDir } from "@ROOT@/core/workspace/paths.ts";
const ids = [];
for (let i = 0; i < 200; i++) ids.push(allocateSessionDir(process.argv[2], "software-engineer").id);
console.log(JSON.stringify(ids));
`,
    );
    const results = await runAll(
      Array.from({ length: 6 }, () => [BUN, alloc, ws]),
      dir,
    );
    const ids: string[] = [];
    for (const r of results) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const got = JSON.parse(r.stdout) as string[];
      expect(got).toHaveLength(200);
      ids.push(...got);
    }
    expect(new Set(ids).size).toBe(1200);
    for (const id of ids) {
      expect(id).toMatch(/^software-engineer-\d{13}$/);
      expect(archived.has(id)).toBe(false);
    }
    const onDisk = readdirSync(ws).filter((n) => !n.endsWith("-completed"));
    expect(onDisk.sort()).toEqual([...ids].sort());
  }, 60_000);
});

describe("writeFileAtomic", () => {
  test("a reader in another process never sees a partial, empty or mixed file", async () => {
    const dir = tempDir();
    const target = join(dir, "session.json");
    const done = join(dir, "writer-done");
    // Each generation is ~200 KB of one repeated line, so a torn write would show as a short
    // file or lines of two generations.
    const common = `const LINES = 4000;
const gen = (n) => (\`generation \${String(n).padStart(6, "0")} \${"x".repeat(36)}\\n\`).repeat(LINES);
`;
    const writer = script(
      dir,
      "writer.ts",
      `import { writeFileAtomic } from "@ROOT@/core/base/fsx.ts";
import { writeFileSync } from "node:fs";
${common}
const [target, done, count] = process.argv.slice(2);
for (let i = 1; i <= Number(count); i++) writeFileAtomic(target, gen(i));
writeFileSync(done, "");
`,
    );
    const reader = script(
      dir,
      "reader.ts",
      `import { existsSync, readFileSync } from "node:fs";
${common}
const [target, done] = process.argv.slice(2);
const seen = new Set();
let reads = 0;
let bad = 0;
let firstBad = "";
const deadline = Date.now() + 30_000;
for (;;) {
  if (Date.now() > deadline) throw new Error("the writer never finished");
  const finished = existsSync(done);
  let text;
  try { text = readFileSync(target, "utf8"); } catch (e) { if (e.code === "ENOENT" && !seen.size) continue; throw e; }
  reads++;
  const m = /^generation (\\d{6}) /.exec(text);
  if (!m || text !== gen(Number(m[1]))) { bad++; if (!firstBad) firstBad = \`length \${text.length}: \${text.slice(0, 60)}\`; }
  else seen.add(m[1]);
  if (finished) break;
}
console.log(JSON.stringify({ reads, bad, firstBad, generations: seen.size }));
`,
    );
    const [w, r] = await runAll(
      [
        [BUN, writer, target, done, "300"],
        [BUN, reader, target, done],
      ],
      dir,
    );
    expect(w!.stderr).toBe("");
    expect(w!.code).toBe(0);
    expect(r!.stderr).toBe("");
    expect(r!.code).toBe(0);
    const stats = JSON.parse(r!.stdout);
    expect(stats.firstBad).toBe("");
    expect(stats.bad).toBe(0);
    // The reader really overlapped the writer: it saw several generations, not just the last.
    expect(stats.generations).toBeGreaterThan(1);
    expect(stats.reads).toBeGreaterThan(stats.generations - 1);
    // No temp files are left behind.
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  }, 60_000);
});

describe("isInside", () => {
  test("judges real paths, so symlinks cannot lead out", () => {
    const dir = tempDir();
    const root = join(dir, "ws");
    const outside = join(dir, "outside");
    mkdirSync(join(root, "sess", "deep"), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, "secret"), "s");
    mkdirSync(join(dir, "ws-evil"));
    symlinkSync(outside, join(root, "link-out"));
    symlinkSync(join(outside, "secret"), join(root, "file-link-out"));
    symlinkSync(join(root, "sess"), join(root, "link-in"));
    symlinkSync("../outside", join(root, "sess", "relative-out"));
    symlinkSync(join(dir, "nowhere"), join(root, "dangling"));
    symlinkSync(root, join(dir, "ws-alias"));

    expect(isInside(root, root)).toBe(true);
    expect(isInside(root, join(root, "sess"))).toBe(true);
    expect(isInside(root, join(root, "sess", "deep"))).toBe(true);
    expect(isInside(root, join(root, "link-in"))).toBe(true);
    expect(isInside(root, join(root, "link-in", "deep"))).toBe(true);
    // The root named through a symlink still contains its own dirs, and vice versa.
    expect(isInside(join(dir, "ws-alias"), join(root, "sess"))).toBe(true);
    expect(isInside(root, join(dir, "ws-alias", "sess"))).toBe(true);

    expect(isInside(root, join(root, "link-out"))).toBe(false);
    expect(isInside(root, join(root, "link-out", "secret"))).toBe(false);
    expect(isInside(root, join(root, "file-link-out"))).toBe(false);
    expect(isInside(root, join(root, "sess", "relative-out"))).toBe(false);
    expect(isInside(root, join(root, "dangling"))).toBe(false);
    expect(isInside(root, join(root, "missing"))).toBe(false);
    expect(isInside(root, join(root, "..", "outside"))).toBe(false);
    expect(isInside(root, join(dir, "ws-evil"))).toBe(false);
    expect(isInside(root, dir)).toBe(false);
  });
});

describe("listEntries", () => {
  test("classifies sessions, archives and requests; flags symlinked requests; skips the rest", () => {
    const dir = tempDir();
    const ws = join(dir, "ws");
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(ws);
    mkdirSync(elsewhere);
    const mk = (name: string) => mkdirSync(join(ws, name));
    mk("engineering-manager-1700000000000");
    mk("software-engineer-1700000000001");
    mk("qa-engineer-1700000000002");
    mk("software-engineer-1700000000003-completed");
    mk("software-engineer-request-login-form");
    mk("intern-request-x");
    symlinkSync(elsewhere, join(ws, "intern-request-evil"));
    // Skipped: dot entries, plain files, symlinked sessions, names that are none of the three.
    mk(".team.lock");
    mk(".software-engineer-request-hidden");
    mk(".engineer-1700000000009");
    writeFileSync(join(ws, ".session.json.123.1.tmp"), "");
    writeFileSync(join(ws, "software-engineer-request-file"), "not a dir");
    writeFileSync(join(ws, "intern-1700000000004"), "a file, not a session");
    symlinkSync(elsewhere, join(ws, "intern-1700000000005"));
    mk("notes");
    mk("personas");
    mk("intern-12345");
    mk("Intern-1700000000006");
    mk("intern-1700000000007-completed-old");
    mk("engineer--1700000000008");

    const entries = listEntries(ws).sort((a, b) => a.dir.localeCompare(b.dir));
    expect(entries).toEqual([
      { kind: "session", dir: "engineering-manager-1700000000000", id: "engineering-manager-1700000000000", persona: "engineering-manager" },
      { kind: "request", dir: "intern-request-evil", persona: "intern", name: "evil", symlink: true },
      { kind: "request", dir: "intern-request-x", persona: "intern", name: "x", symlink: false },
      { kind: "session", dir: "qa-engineer-1700000000002", id: "qa-engineer-1700000000002", persona: "qa-engineer" },
      { kind: "session", dir: "software-engineer-1700000000001", id: "software-engineer-1700000000001", persona: "software-engineer" },
      {
        kind: "archive",
        dir: "software-engineer-1700000000003-completed",
        id: "software-engineer-1700000000003",
        persona: "software-engineer",
      },
      { kind: "request", dir: "software-engineer-request-login-form", persona: "software-engineer", name: "login-form", symlink: false },
    ]);
  });

  test("a missing workspace lists nothing", () => {
    expect(listEntries(join(tempDir(), "nope"))).toEqual([]);
  });
});

describe("workspace discovery", () => {
  /** A project with a team, and the CLI run from a directory below it with no workspace named. */
  async function project() {
    const sb = sandbox("cw-discover-");
    sandboxesMade.push(sb);
    const env = { ...sb.env };
    delete env.CLAUDE_WRAPPER_WORKSPACE;
    // The walk stops at a repository's top: it keeps these tests inside their own temp dir.
    mkdirSync(join(sb.root, ".git"));
    const made = await run({ root: sb.root, env }, ["team", "start", "Build it", "--json"]);
    expect(made.code).toBe(0);
    const deep = join(sb.root, "src", "lib");
    mkdirSync(deep, { recursive: true });
    return { sb, env, deep, from: (dir: string) => ({ root: dir, env }) };
  }

  test("status, attach --list, tell and logs find the workspace from a subdirectory", async () => {
    const { sb, deep, from } = await project();
    const status = await run(from(deep), ["team", "status", "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).workspace).toBe(sb.workspace);

    const list = await run(from(join(sb.root, "src")), ["attach", "--list", "--json"]);
    expect(JSON.parse(list.stdout).map((r: { name: string }) => r.name)).toEqual(["manager", "architect"]);

    const told = await run(from(deep), ["tell", "manager", "Use the session middleware", "--json"]);
    expect(told.code).toBe(0);
    expect(JSON.parse(told.stdout).file.startsWith(`${sb.workspace}/engineering-manager-`)).toBe(true);

    const logs = await run(from(deep), ["logs", "manager"]);
    expect(logs.code).toBe(0);
    expect(logs.stderr).toContain("has no agent output yet");
  });

  test("--workspace and $CLAUDE_WRAPPER_WORKSPACE win over the walk", async () => {
    const { sb, env, deep } = await project();
    const other = join(sb.root, "elsewhere", ".database");
    const byFlag = await run({ root: deep, env }, ["attach", "--list", "--workspace", other]);
    expect(byFlag.code).toBe(3);
    expect(byFlag.stderr).toContain(`no workspace at ${other};`);
    const byEnv = await run({ root: deep, env: { ...env, CLAUDE_WRAPPER_WORKSPACE: other } }, ["team", "status"]);
    expect(byEnv.code).toBe(3);
    expect(byEnv.stderr).toContain(other);
  });

  test("the walk stops at a repository's top and never follows a symlinked .database", async () => {
    const { sb, env } = await project();
    // A repository of its own below the project: the project's workspace is not its workspace.
    const inner = join(sb.root, "vendor", "lib");
    mkdirSync(join(inner, ".git"), { recursive: true });
    const r = await run({ root: inner, env }, ["attach", "--list"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`no workspace at ${join(inner, ".database")} (nor in a parent directory)`);

    // A linked worktree or submodule (`.git` is a file) is part of the project: the walk goes on.
    const linked = join(sb.root, "wt", "x");
    mkdirSync(linked, { recursive: true });
    writeFileSync(join(sb.root, "wt", ".git"), "gitdir: ../.git/worktrees/x\n");
    const found = await run({ root: linked, env }, ["team", "status", "--json"]);
    expect(JSON.parse(found.stdout).workspace).toBe(sb.workspace);

    // A symlink named .database is not a workspace: the walk passes it by.
    const other = join(sb.root, "other", ".database");
    expect((await run({ root: sb.root, env }, ["team", "start", "Other", "--workspace", other])).code).toBe(0);
    const linkDir = join(sb.root, "linked");
    mkdirSync(linkDir);
    symlinkSync(other, join(linkDir, ".database"));
    const viaLink = await run({ root: linkDir, env }, ["team", "status", "--json"]);
    expect(JSON.parse(viaLink.stdout).workspace).toBe(sb.workspace);
  });

  test("team start with no workspace above makes ./.database where it runs", async () => {
    const sb = sandbox("cw-discover-");
    sandboxesMade.push(sb);
    const env = { ...sb.env };
    delete env.CLAUDE_WRAPPER_WORKSPACE;
    mkdirSync(join(sb.root, ".git"));
    const r = await run({ root: sb.root, env }, ["team", "start", "Build it", "--json"]);
    expect(JSON.parse(r.stdout).workspace).toBe(join(sb.root, ".database"));
  });
});
