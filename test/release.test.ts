/**
 * Distribution end to end: the real release script builds the four archives and SHA256SUMS (into
 * a temp dir, through its --out option), a local HTTP server serves them, and install.sh (run by
 * dash when there is one) installs from there into a temp dir; the installed binary runs
 * `--version` and `demo`. A tampered archive, a SHA256SUMS without this platform's line, a failed
 * download, a wrong pinned version and an unsupported platform are each refused in one line with
 * the install dir left exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { all, buildCommit, hostTarget } from "../scripts/build";
import { sha256, writeTarGz } from "../scripts/release";
import { BUN, ROOT, waitFor } from "./helpers";

const SH = Bun.which("dash") ?? "/bin/sh";
const host = all.find((t) => t.bun === hostTarget().bun)!;
const ARCHIVE = `${host.out}.tar.gz`;

let tmp: string;
let out: string;
let server: ReturnType<typeof Bun.serve>;
let base: string;

/** A PATH of exactly the tools install.sh may use, so a missing dependency shows up here. */
function toolsDir(name: string, pick: { fetch: "curl" | "wget"; hash: "sha256sum" | "shasum" }, extra: Record<string, string> = {}): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const tools = ["uname", "mktemp", "rm", "awk", "tr", "sed", "mkdir", "tar", "gzip", "cp", "chmod", "mv", "basename", "dirname", "rmdir", pick.fetch, pick.hash];
  for (const t of tools) {
    if (extra[t]) continue;
    const real = Bun.which(t);
    if (!real) throw new Error(`${t} is not installed`);
    symlinkSync(real, join(dir, t));
  }
  for (const [t, script] of Object.entries(extra)) writeFileSync(join(dir, t), script, { mode: 0o755 });
  return dir;
}

let curlTools: string;
let builtVersion: string;
let wgetTools: string;

/**
 * Run install.sh: as a file, or `piped` into `sh -s --` as the README's `curl ... | sh` does.
 * `interrupt` resolves when it is time to press Ctrl-C (SIGINT to the whole process group).
 */
async function install(args: string[], opts: { dir: string; base?: string; path?: string; piped?: boolean; interrupt?: () => Promise<unknown> }) {
  const env: Record<string, string> = {
    PATH: opts.path ?? curlTools,
    HOME: join(tmp, "home"),
    TMPDIR: tmp,
    SHELL: "/bin/bash",
    CLAUDE_WRAPPER_INSTALL_BASE: opts.base ?? `${base}/good`,
    CLAUDE_WRAPPER_INSTALL_DIR: opts.dir,
  };
  const argv = opts.piped ? [SH, "-s", "--", ...args] : [SH, join(ROOT, "install.sh"), ...args];
  const p = Bun.spawn(argv, { env, detached: true, stdin: opts.piped ? "pipe" : "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => process.kill(-p.pid, "SIGKILL"), 120_000);
  if (opts.piped) {
    p.stdin!.write(readFileSync(join(ROOT, "install.sh")));
    p.stdin!.end();
  }
  if (opts.interrupt) await opts.interrupt().then(() => process.kill(-p.pid, "SIGINT"));
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Everything in a dir (names, inodes, contents' hashes), to show that a refusal changed nothing. */
function snapshot(dir: string): string {
  if (!existsSync(dir)) return "(absent)";
  return readdirSync(dir)
    .sort()
    .map((n) => `${n} ${lstatSync(join(dir, n)).ino} ${Bun.hash(readFileSync(join(dir, n)))}`)
    .join("\n");
}

async function runIt(argv: string[], env: Record<string, string> = {}, cwd = tmp) {
  const p = Bun.spawn(argv, { cwd, env: { PATH: "/usr/bin:/bin", HOME: join(tmp, "home"), TMPDIR: tmp, NO_COLOR: "1", ...env }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "cw-release-"));
  mkdirSync(join(tmp, "home"));
  out = join(tmp, "release");
  const r = await runIt([BUN, join(ROOT, "scripts/release.ts"), "--out", out], { PATH: process.env.PATH! });
  if (r.code !== 0) throw new Error(`release failed:\n${r.stdout}\n${r.stderr}`);
  // The version the artifacts carry (the tree may have changed since they were built).
  const probe = join(tmp, "probe");
  mkdirSync(probe);
  expect(Bun.spawnSync(["tar", "-xzf", join(out, ARCHIVE), "-C", probe]).exitCode).toBe(0);
  builtVersion = (await runIt([join(probe, "claude-wrapper"), "--version"])).stdout.trim();
  const head = buildCommit().replace(/-dirty$/, "");
  expect(builtVersion).toMatch(new RegExp(`^${pkg.version.replace(/\./g, "\\.")} \\(${head}(-dirty)?\\)$`));

  // A well-formed, correctly listed archive whose binary cannot start.
  const broken = join(tmp, "broken");
  mkdirSync(broken);
  writeFileSync(join(broken, "claude-wrapper"), "#!/bin/sh\nexit 126\n", { mode: 0o755 });
  await writeTarGz(join(broken, "claude-wrapper"), "claude-wrapper", join(broken, ARCHIVE));
  writeFileSync(join(broken, "SHA256SUMS"), `${await sha256(join(broken, ARCHIVE))}  ${ARCHIVE}\n`);

  const served = new Set(readdirSync(out));
  const sums = readFileSync(join(out, "SHA256SUMS"), "utf8");
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const [, variant, name] = new URL(req.url).pathname.split("/");
      if (!variant || !name || !served.has(name)) return new Response("not found", { status: 404 });
      const bytes = readFileSync(join(out, name));
      if (variant === "good") return new Response(bytes);
      if (variant === "broken") return new Response(readFileSync(join(broken, name)));
      if (variant === "slow" && name.endsWith(".tar.gz")) {
        // A download that stalls after its first megabyte, until the client goes away.
        return new Response(new ReadableStream({ start: (c) => c.enqueue(bytes.subarray(0, 1 << 20)) }));
      }
      if (variant === "slow") return new Response(bytes);
      if (variant === "tampered" && name.endsWith(".tar.gz")) {
        bytes[bytes.length >> 1] ^= 0xff;
        return new Response(bytes);
      }
      if (variant === "tampered") return new Response(bytes);
      if (variant === "nosum" && name === "SHA256SUMS") return new Response(sums.replace(new RegExp(`^.*  ${ARCHIVE}\\n`, "m"), ""));
      if (variant === "nosum") return new Response(bytes);
      return new Response("not found", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
  curlTools = toolsDir("tools-curl", { fetch: "curl", hash: "sha256sum" });
  wgetTools = toolsDir("tools-wget", { fetch: "wget", hash: "shasum" });
}, 180_000);

afterAll(() => {
  server?.stop(true);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("npm run release", () => {
  test("writes exactly the four archives and a SHA256SUMS that sha256sum -c accepts", async () => {
    const names = all.map((t) => `${t.out}.tar.gz`);
    expect(readdirSync(out).sort()).toEqual([...names, "SHA256SUMS"].sort());
    expect(names).toEqual(["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"].map((p) => `claude-wrapper-${p}.tar.gz`));
    const check = await runIt(["sha256sum", "-c", "SHA256SUMS"], {}, out);
    expect(check.stdout.trim().split("\n").sort()).toEqual(names.map((n) => `${n}: OK`).sort());
    expect(check.code).toBe(0);
  });

  test("each archive is a tar of one executable, claude-wrapper", async () => {
    // Only the header is unpacked (all four in full take seconds on a busy machine): the gzip
    // trailer's length shows that one member and the two zero blocks that end a tar follow it.
    // install.sh's tests below unpack this platform's archive whole with the system tar.
    for (const t of all) {
      const gz = readFileSync(join(out, `${t.out}.tar.gz`));
      const reader = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
      let header = new Uint8Array(0);
      while (header.length < 512) {
        const { value, done } = await reader.read();
        if (done) break;
        header = new Uint8Array([...header, ...value.subarray(0, 512 - header.length)]);
      }
      await reader.cancel();
      const field = (at: number, len: number) => new TextDecoder().decode(header.subarray(at, at + len)).replace(/\0.*$/s, "");
      expect({ name: field(0, 100), mode: field(100, 8), type: field(156, 1), magic: field(257, 6) }).toEqual({ name: "claude-wrapper", mode: "0000755", type: "0", magic: "ustar" });
      const size = parseInt(field(124, 12), 8);
      expect(size).toBeGreaterThan(10_000_000);
      const tarLength = 512 + Math.ceil(size / 512) * 512 + 1024;
      expect(gz.readUInt32LE(gz.length - 4)).toBe(tarLength % 2 ** 32);
    }
  });

  test("a file it did not write is refused, not deleted", async () => {
    const other = mkdtempSync(join(tmp, "other-"));
    writeFileSync(join(other, "notes.txt"), "mine");
    const r = await runIt([BUN, join(ROOT, "scripts/release.ts"), "--out", other], { PATH: process.env.PATH! });
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("notes.txt");
    expect(readdirSync(other)).toEqual(["notes.txt"]);
  });
});

describe("install.sh", () => {
  test("installs into a new dir, says how to put it on PATH, and the binary runs --version and demo", async () => {
    const dir = join(tmp, "fresh", "bin");
    const r = await install([], { dir, piped: true });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const version = builtVersion;
    expect(r.stdout).toContain(`claude-wrapper ${version} installed to ${dir}/claude-wrapper\n`);
    expect(r.stdout).toContain(`${dir} is not on your PATH`);
    expect(r.stdout).toContain(`echo 'export PATH="${dir}:$PATH"' >> ~/.bashrc`);
    expect(readdirSync(dir)).toEqual(["claude-wrapper"]);
    expect(lstatSync(join(dir, "claude-wrapper")).mode & 0o777).toBe(0o755);

    const v = await runIt([join(dir, "claude-wrapper"), "--version"]);
    expect(v).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    const demo = await runIt([join(dir, "claude-wrapper"), "demo", "--json"]);
    expect(demo.code).toBe(0);
    const summary = JSON.parse(demo.stdout.trim().split("\n").pop()!).summary;
    expect(summary.finished).toBe(true);
    expect(summary.archived).toBeGreaterThanOrEqual(4);
  }, 180_000);

  test("re-running upgrades in place (wget and shasum this time); a dir on PATH gets no hint", async () => {
    const dir = join(tmp, "upgrade");
    mkdirSync(dir);
    writeFileSync(join(dir, "claude-wrapper"), "#!/bin/sh\necho '0.0.1 (old)'\n", { mode: 0o755 });
    const before = lstatSync(join(dir, "claude-wrapper")).ino;
    const r = await install([], { dir, path: `${wgetTools}:${dir}` });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`installed to ${dir}/claude-wrapper (was 0.0.1 (old))\n`);
    expect(r.stdout).not.toContain("not on your PATH");
    expect(readdirSync(dir)).toEqual(["claude-wrapper"]);
    // Replaced by a rename, not rewritten: a process running the old binary keeps its file.
    expect(lstatSync(join(dir, "claude-wrapper")).ino).not.toBe(before);
    const v = await runIt([join(dir, "claude-wrapper"), "--version"]);
    expect(v.stdout).toBe(`${builtVersion}\n`);

    const again = await install([`--version`, `v${pkg.version}`], { dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`claude-wrapper ${builtVersion} installed to ${dir}/claude-wrapper\n`);
  }, 180_000);

  /** An install that must be refused: exit 1, one line on stderr, the dir exactly as before. */
  async function refused(args: string[], opts: { base?: string; path?: string }, mention: string) {
    for (const dir of [join(tmp, "never-created"), join(tmp, "existing")]) {
      if (dir.endsWith("existing") && !existsSync(dir)) {
        mkdirSync(dir);
        writeFileSync(join(dir, "claude-wrapper"), "#!/bin/sh\necho '0.0.1 (old)'\n", { mode: 0o755 });
      }
      const before = snapshot(dir);
      const r = await install(args, { dir, ...opts });
      expect({ dir, code: r.code }).toEqual({ dir, code: 1 });
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith("claude-wrapper install: ");
      expect(lines[0]).toContain(mention);
      expect(snapshot(dir)).toBe(before);
    }
    expect(readdirSync(tmp).filter((n) => n.startsWith("claude-wrapper-install."))).toEqual([]);
  }

  test("a tampered archive is refused with nothing installed", async () => {
    await refused([], { base: `${base}/tampered` }, `checksum mismatch for ${ARCHIVE}`);
  }, 180_000);

  test("a SHA256SUMS without this platform's line is refused with nothing installed", async () => {
    await refused([], { base: `${base}/nosum` }, `SHA256SUMS at ${base}/nosum has no entry for ${ARCHIVE}`);
  }, 180_000);

  test("a download that fails names the URL", async () => {
    await refused([], { base: `${base}/gone` }, `could not download ${base}/gone/SHA256SUMS`);
    await refused([], { base: `${base}/gone`, path: wgetTools }, `could not download ${base}/gone/SHA256SUMS`);
  }, 180_000);

  test("Ctrl-C during the download leaves nothing behind", async () => {
    const dir = join(tmp, "interrupted", "bin");
    const partial = async () => {
      const t = readdirSync(tmp).find((n) => n.startsWith("claude-wrapper-install."));
      return t && existsSync(join(tmp, t, ARCHIVE)) && statSync(join(tmp, t, ARCHIVE)).size > 0;
    };
    const r = await install([], { dir, base: `${base}/slow`, interrupt: () => waitFor("a partial download", partial, 60_000) });
    expect(r.code).not.toBe(0);
    expect(existsSync(join(tmp, "interrupted"))).toBe(false);
    expect(readdirSync(tmp).filter((n) => n.startsWith("claude-wrapper-install."))).toEqual([]);
  }, 180_000);

  test("a binary that does not start here is refused, the old one kept", async () => {
    await refused([], { base: `${base}/broken` }, `the ${host.out.replace("claude-wrapper-", "")} build does not start on this machine`);
  }, 180_000);

  test("a pinned version that the base does not hold is refused", async () => {
    await refused(["--version", "9.9.9"], {}, `holds claude-wrapper ${builtVersion}, not 9.9.9`);
  }, 180_000);

  test("an unsupported platform gets one line", async () => {
    const uname = (s: string, m: string) => `#!/bin/sh\ncase "$1" in -s) echo ${s} ;; -m) echo ${m} ;; *) echo ${s} ;; esac\n`;
    let n = 0;
    for (const [s, m] of [["FreeBSD", "amd64"], ["Linux", "riscv64"], ["MINGW64_NT-10.0", "x86_64"]] as const) {
      const path = toolsDir(`tools-uname-${n++}`, { fetch: "curl", hash: "sha256sum" }, { uname: uname(s, m) });
      await refused([], { path }, `no claude-wrapper build for ${s} ${m} (there are: linux-x64, linux-arm64, darwin-x64, darwin-arm64)`);
    }
  }, 180_000);

  test("a wrong argument is one line, exit 2", async () => {
    const dir = join(tmp, "never-created");
    for (const args of [["--bogus"], ["--version"], ["--version", "1.0;rm"]]) {
      const r = await install(args, { dir });
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(existsSync(dir)).toBe(false);
    }
  });
});
