/**
 * The compiled binary is self-contained: copied alone into an empty dir, with no Bun and no
 * node_modules on PATH, HOME elsewhere and (where the kernel lets us) the repository hidden
 * behind an empty mount, it still runs every command and renders the embedded personas.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { compileArgv, hostTarget } from "../scripts/build";
import { BUN, ROOT } from "./helpers";

const DIST = join(ROOT, "dist", "claude-wrapper");

/** Newest mtime among everything that goes into the binary. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|md|json)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ["commands", "core", "personas"]) walk(join(ROOT, d));
  for (const f of ["cli.ts", "package.json", "scripts/build.ts"]) newest = Math.max(newest, statSync(join(ROOT, f)).mtimeMs);
  return newest;
}

/** dist/claude-wrapper, rebuilt with the project's own build script when sources are newer. */
function ensureBinary(): void {
  if (existsSync(DIST) && statSync(DIST).mtimeMs >= newestSource()) return;
  const r = Bun.spawnSync([BUN, join(ROOT, "scripts/build.ts")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
}

/** Run a command with the repository hidden (a private mount namespace with an empty tmpfs on it). */
const UNSHARE = Bun.which("unshare");
const MOUNT = Bun.which("mount");
const SH = Bun.which("sh")!;
const canHideRepo =
  !!UNSHARE &&
  !!MOUNT &&
  Bun.spawnSync([UNSHARE, "-m", "--propagation", "private", SH, "-c", `${MOUNT} -t tmpfs none "$0" && ! ls -A "$0" | grep -q .`, ROOT], { stderr: "ignore" })
    .exitCode === 0;

let home: string;
let bin: string;
let tmp: string;
let env: Record<string, string>;

beforeAll(() => {
  ensureBinary();
  tmp = mkdtempSync(join(tmpdir(), "cw-binary-"));
  bin = join(tmp, "empty dir");
  home = join(tmp, "home");
  const emptyPath = join(tmp, "no-tools");
  for (const d of [bin, home, emptyPath]) mkdirSync(d);
  copyFileSync(DIST, join(bin, "claude-wrapper"));
  Bun.spawnSync(["chmod", "755", join(bin, "claude-wrapper")]);
  // Nothing on PATH at all: no bun, no node, no node_modules/.bin.
  env = { PATH: emptyPath, HOME: home, LANG: "C.UTF-8" };
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function runBinary(args: string[], opts: { hideRepo?: boolean } = {}) {
  const argv = opts.hideRepo
    ? [UNSHARE!, "-m", "--propagation", "private", SH, "-c", `${MOUNT} -t tmpfs none "$0" && exec "$@"`, ROOT, "./claude-wrapper", ...args]
    : ["./claude-wrapper", ...args];
  const p = Bun.spawn(argv, { cwd: bin, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

describe("the compiled binary, alone in an empty dir", () => {
  test("the dir holds nothing but the binary, and it embeds no path into the repository", () => {
    expect(readdirSync(bin)).toEqual(["claude-wrapper"]);
    expect(readFileSync(join(bin, "claude-wrapper")).includes(ROOT)).toBe(false);
  });

  test("--version and --help", async () => {
    const v = await runBinary(["--version"]);
    expect(v).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^${pkg.version.replaceAll(".", "\\.")} \\(([0-9a-f]{7,}(-dirty)?|unknown)\\)\n$`)), stderr: "" });
    const h = await runBinary(["--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("USAGE");
    for (const c of ["team", "orchestrate", "attach", "track", "tell", "logs", "demo", "doctor"]) expect(h.stdout).toContain(c);
    expect(h.stdout).not.toContain("\x1b");
    const d = await runBinary(["doctor", "--help"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain("claude-wrapper doctor");
  });

  test("a mistake is still one line, exit 2, no stack", async () => {
    for (const args of [["bogus"], ["team", "start"], ["team", "start", "x", "--engineers", "nope"]]) {
      const r = await runBinary(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
  });

  test.skipIf(!canHideRepo)("team start with the repository hidden renders the embedded personas", async () => {
    const r = await runBinary(["team", "start", "x", "--engineers", "1", "--interns", "1", "--json"], { hideRepo: true });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const ws = join(bin, ".database");
    expect(out.workspace).toBe(ws);
    expect(out.sessions.map((s: any) => s.persona)).toEqual(["engineering-manager", "solutions-architect", "software-engineer", "intern"]);
    const firstLines: Record<string, string> = {
      "engineering-manager": "# You are the engineering manager",
      "solutions-architect": "# You are the solutions architect",
      "software-engineer": "# You are a software engineer",
      intern: "# You are an intern",
    };
    for (const s of out.sessions) {
      const pi = readFileSync(join(ws, s.id, "persona-instructions.md"), "utf8");
      expect(pi).toStartWith(`${firstLines[s.persona]}`);
      expect(pi).toContain(s.id);
      expect(pi).not.toMatch(/\{\{[^}]*\}\}/);
      expect(readFileSync(join(ws, s.id, "tasks.md"), "utf8")).toContain("## Task: ");
    }
    // A second start is refused by the binary too (exit 4).
    const again = await runBinary(["team", "start", "y"], { hideRepo: true });
    expect(again.code).toBe(4);
    expect(readdirSync(bin).sort()).toEqual([".database", "claude-wrapper"]);
    expect(existsSync(join(home, ".database"))).toBe(false);
  });

  test("team start in a plain empty dir (no mount namespace needed)", async () => {
    rmSync(join(bin, ".database"), { recursive: true, force: true });
    const r = await runBinary(["team", "start", "plain run"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Team created in .database");
    // Beside the two session dirs: ROSTER.md (the team roster).
    const dirs = readdirSync(join(bin, ".database")).filter((n) => !n.startsWith(".") && n !== "ROSTER.md");
    expect(dirs).toHaveLength(2);
    for (const d of dirs) expect(readFileSync(join(bin, ".database", d, "persona-instructions.md"), "utf8")).toContain("**Team goal:** plain run");
  });
});

describe("the @parcel/watcher addon in a compiled binary", () => {
  test("the release binary embeds this platform's addon, whole", () => {
    const addon = readFileSync(join(ROOT, "node_modules/@parcel", `watcher-${hostTarget().watcher}`, "watcher.node"));
    expect(addon.length).toBeGreaterThan(10_000);
    expect(readFileSync(join(bin, "claude-wrapper")).includes(addon)).toBe(true);
  });

  test("a probe compiled with the release flags loads the embedded addon and sees a real event", async () => {
    const dir = join(tmp, "probe");
    const alone = join(tmp, "probe-alone");
    mkdirSync(dir);
    mkdirSync(alone);
    const entry = join(dir, "probe.ts");
    await Bun.write(
      entry,
      `import { loadWatcher } from ${JSON.stringify(join(ROOT, "core/base/watcher-native.ts"))};
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
const watched = mkdtempSync(join(process.argv[2] ?? tmpdir(), "watched-"));
const seen = new Promise((resolve) => {
  loadWatcher().subscribe(watched, (err, events) => {
    if (err) { console.error(String(err)); process.exit(1); }
    const hit = events.find((e) => e.path.endsWith("hello.txt"));
    if (hit) resolve(hit.type);
  }).then(() => writeFileSync(join(watched, "hello.txt"), "hi"));
});
const timer = setTimeout(() => { console.error("no event within 20 s"); process.exit(1); }, 20_000);
console.log(await seen);
clearTimeout(timer);
process.exit(0);
`,
    );
    const out = join(dir, "probe");
    const c = Bun.spawnSync(compileArgv(hostTarget(), entry, out), { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(c.stderr.toString()).not.toContain("error");
    expect(c.exitCode).toBe(0);
    copyFileSync(out, join(alone, "probe"));
    Bun.spawnSync(["chmod", "755", join(alone, "probe")]);
    rmSync(dir, { recursive: true, force: true });
    const argv = canHideRepo
      ? [UNSHARE!, "-m", "--propagation", "private", SH, "-c", `${MOUNT} -t tmpfs none "$0" && exec "$@"`, ROOT, "./probe", alone]
      : ["./probe", alone];
    const p = Bun.spawn(argv, { cwd: alone, env, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(stderr).toBe("");
    expect(stdout.trim()).toBe("create");
    expect(code).toBe(0);
  }, 120_000);
});
