/**
 * Shared by the core/git tests: a temp project with history and a user mid-work, a snapshot of
 * everything of the user's checkout a tool could change, and a core/git step run in its own
 * process (so a test can kill it at a crash point).
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { findRepo, type Repo } from "../core/git/repo";
import { createIntegrationBranch, worktreesDir } from "../core/git/worktree";
import { BUN, FIXTURES } from "./helpers";

/** Temp dirs a test file made, removed after each test (call from the file: `afterEach(removeMade)`). */
export const made: string[] = [];
export function removeMade(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** git in a dir, for the test's own setup and checks (never writing the index as a side effect). */
export function git(cwd: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", ...args], { cwd, env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" }, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.toString().trim();
}

export interface TestRepo {
  root: string;
  workspace: string;
  repo: Repo;
  integration: string;
}

/**
 * A project with history and a user mid-work: a staged new file, an unstaged edit, an untracked
 * file. The workspace dir exists (empty) so the snapshot before and after sees the same tree.
 */
export async function project(opts: { identity?: boolean } = {}): Promise<TestRepo> {
  const root = mkdtempSync(join(tmpdir(), "cw-git-"));
  made.push(root);
  git(root, "init", "-q", "-b", "main");
  if (opts.identity !== false) {
    git(root, "config", "user.name", "Test User");
    git(root, "config", "user.email", "test@example.com");
  }
  writeFileSync(join(root, "a.txt"), "line one\nline two\nline three\n");
  mkdirSync(join(root, "src"));
  writeFileSync(join(root, "src/keep.txt"), "keep\n");
  git(root, "add", ".");
  git(root, "-c", "user.name=Setup", "-c", "user.email=setup@example.com", "commit", "-q", "-m", "initial");
  writeFileSync(join(root, "staged.txt"), "the user's staged file\n");
  git(root, "add", "staged.txt");
  writeFileSync(join(root, "src/keep.txt"), "keep, edited by the user\n");
  writeFileSync(join(root, "notes.txt"), "untracked notes\n");
  const workspace = join(root, ".database");
  mkdirSync(workspace);
  const repo = findRepo(root)!;
  const { branch } = await createIntegrationBranch(repo, "1700000000000");
  return { root, workspace, repo, integration: branch };
}

/** Everything of the user's checkout a tool could change: status, HEAD, index bytes, files. */
export function checkoutState(root: string) {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(root, p);
      if (rel === ".git" || rel === ".database") continue;
      if (e.isDirectory()) walk(p);
      else files[rel] = readFileSync(p, "utf8");
    }
  };
  walk(root);
  return {
    status: git(root, "status", "--porcelain=v2", "--branch", "--untracked-files=all"),
    head: readFileSync(join(root, ".git/HEAD"), "utf8"),
    headCommit: git(root, "rev-parse", "HEAD"),
    index: createHash("sha256").update(readFileSync(join(root, ".git/index"))).digest("hex"),
    files,
  };
}

export function tip(t: TestRepo, branch = t.integration): string {
  return git(t.root, "rev-parse", `refs/heads/${branch}`);
}

export function show(t: TestRepo, path: string, branch = t.integration): string {
  return git(t.root, "show", `${branch}:${path}`);
}

/** `bun test/fixtures/git-step.ts <step> <json>`, optionally killed at a crash point. */
export async function step(name: string, opts: Record<string, unknown>, crashAt?: string): Promise<{ code: number | null; signal: string | null; out: any }> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (crashAt) env.CLAUDE_WRAPPER_CRASH_AT = crashAt;
  else delete env.CLAUDE_WRAPPER_CRASH_AT;
  const proc = Bun.spawn([BUN, join(FIXTURES, "git-step.ts"), name, JSON.stringify(opts)], { env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const line = stdout.trim().split("\n").pop();
  let out: any;
  try {
    out = line ? JSON.parse(line) : undefined;
  } catch {
    out = { stdout, stderr };
  }
  if (!crashAt && proc.exitCode !== 0 && !out?.error) throw new Error(`git-step ${name} exited ${proc.exitCode}: ${stderr}`);
  return { code: proc.exitCode, signal: proc.signalCode === null ? null : String(proc.signalCode), out };
}

/** Our worktrees and scratch dirs on disk (trash and orphans included). */
export function worktreeDirs(t: TestRepo): string[] {
  try {
    return readdirSync(worktreesDir(t.workspace)).filter((n) => n !== ".gitignore" && !n.endsWith(".log")).sort();
  } catch {
    return [];
  }
}
