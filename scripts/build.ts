/**
 * Build the self-contained executable(s). `bun scripts/build.ts` builds for this machine into
 * dist/claude-wrapper; `--all` cross-compiles linux-x64/arm64 and darwin-x64/arm64. Each build
 * embeds its platform's @parcel/watcher addon (fetched from the npm registry when npm skipped
 * it as an optional dependency for another platform) and the commit it is built from, which
 * `--version` prints. scripts/release.ts packs the four cross-compiled ones for installers.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

const root = join(import.meta.dir, "..");
const watcherVersion: string = (await Bun.file(join(root, "node_modules/@parcel/watcher/package.json")).json()).version;

export interface Target {
  bun: string;
  watcher: string;
  out: string;
}

export const all: Target[] = [
  { bun: "bun-linux-x64", watcher: "linux-x64-glibc", out: "claude-wrapper-linux-x64" },
  { bun: "bun-linux-arm64", watcher: "linux-arm64-glibc", out: "claude-wrapper-linux-arm64" },
  { bun: "bun-darwin-x64", watcher: "darwin-x64", out: "claude-wrapper-darwin-x64" },
  { bun: "bun-darwin-arm64", watcher: "darwin-arm64", out: "claude-wrapper-darwin-arm64" },
];

export function hostTarget(): Target {
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  const watcher = process.platform === "linux" ? `linux-${arch}-glibc` : `${process.platform}-${arch}`;
  return { bun: `bun-${process.platform}-${arch}`, watcher, out: "claude-wrapper" };
}

let commit: string | undefined;

/**
 * The commit a build comes from, as `--version` names it: the short hash, `-dirty` when tracked
 * files differ from it (untracked ones are not counted, as `git describe --dirty` does not), and
 * "unknown" outside a git checkout (a source tarball) or without git.
 */
export function buildCommit(): string {
  if (commit !== undefined) return commit;
  const git = (...args: string[]) => {
    try {
      const r = Bun.spawnSync(["git", "-C", root, ...args], { stdout: "pipe", stderr: "ignore" });
      return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
    } catch {
      return undefined; // no git on PATH
    }
  };
  const head = git("rev-parse", "--short=7", "HEAD");
  if (!head) return (commit = "unknown");
  const changes = git("status", "--porcelain", "--untracked-files=no");
  return (commit = changes === "" ? head : `${head}-dirty`);
}

/** npm installs only this platform's optional addon; fetch another one's package by name. */
export async function ensureWatcherPackage(platform: string): Promise<void> {
  const dest = join(root, "node_modules/@parcel", `watcher-${platform}`);
  if (existsSync(join(dest, "watcher.node"))) return;
  const tmp = mkdtempSync(join(tmpdir(), "cw-watcher-"));
  try {
    const pack = Bun.spawnSync(["npm", "pack", `@parcel/watcher-${platform}@${watcherVersion}`, "--silent"], { cwd: tmp, stderr: "inherit" });
    if (pack.exitCode !== 0) throw new Error(`npm pack @parcel/watcher-${platform} failed`);
    const tgz = pack.stdout.toString().trim().split("\n").pop()!;
    const untar = Bun.spawnSync(["tar", "-xzf", tgz], { cwd: tmp, stderr: "inherit" });
    if (untar.exitCode !== 0) throw new Error(`could not unpack ${tgz}`);
    rmSync(dest, { recursive: true, force: true });
    renameSync(join(tmp, "package"), dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The `bun build --compile` command line for one target (tests compile probes with it too). */
export function compileArgv(t: Target, entry: string, outfile: string): string[] {
  return [
    process.execPath,
    "build",
    "--compile",
    // Precompiled bytecode: the binary skips parsing its own JS at every start (~10 ms).
    "--bytecode",
    "--format=esm",
    "--minify",
    "--sourcemap=none",
    `--target=${t.bun}`,
    `--define=WATCHER_NATIVE="${t.watcher}"`,
    `--define=BUILD_COMMIT="${buildCommit()}"`,
    entry,
    "--outfile",
    outfile,
  ];
}

/** Build one target to `outfile` (its directory must exist); returns its size in bytes. */
export async function buildTarget(t: Target, outfile: string): Promise<number> {
  await ensureWatcherPackage(t.watcher);
  // Build beside the target and rename over it: a binary that is running (a test, a demo) keeps
  // its old inode, and nobody ever executes half a file.
  const tmpfile = join(dirname(outfile), `.${basename(outfile)}.${process.pid}.tmp`);
  const r = Bun.spawnSync(compileArgv(t, join(root, "cli.ts"), tmpfile), { cwd: root, stdout: "pipe", stderr: "inherit" });
  if (r.exitCode !== 0) {
    rmSync(tmpfile, { force: true });
    process.stderr.write(r.stdout.toString());
    throw new Error(`build for ${t.bun} failed`);
  }
  renameSync(tmpfile, outfile);
  return Bun.file(outfile).size;
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

if (import.meta.main) {
  mkdirSync(join(root, "dist"), { recursive: true });
  const targets = process.argv.includes("--all") ? all : [hostTarget()];
  for (const t of targets) {
    const started = performance.now();
    const size = await buildTarget(t, join(root, "dist", t.out));
    console.log(`built ${join("dist", t.out)} (${t.bun}, ${buildCommit()}, ${megabytes(size)}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}
