/**
 * The cost of isolation: time to add and remove a session's worktree, its disk, and one merge
 * (merge-tree + commit-tree + update-ref) into the team branch, on two repositories: this
 * project's own tracked files, and a synthetic one of 10,000 files (a mid-sized product). Plain
 * `git worktree add/remove` run alongside is the floor: checking the files out is the cost.
 *
 *   bun bench/worktree.ts [runs=20]
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { findRepo } from "../core/git/repo";
import { mergeBranch } from "../core/git/merge";
import { addWorktree, commitAll, createIntegrationBranch, removeWorktree } from "../core/git/worktree";
import { type Row, ROOT, median, ms, percentile, printTable } from "./lib";

function sh(cwd: string, argv: string[]): string {
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
}

/** A temp repository with one commit of `fill`'s files; answers its root and a summary. */
function makeRepo(tag: string, fill: (root: string) => void): { root: string; files: number; mb: number } {
  const root = mkdtempSync(join(tmpdir(), `cw-bench-wt-${tag}-`));
  sh(root, ["git", "init", "-q", "-b", "main"]);
  sh(root, ["git", "config", "user.name", "bench"]);
  sh(root, ["git", "config", "user.email", "bench@localhost"]);
  fill(root);
  sh(root, ["git", "add", "-A"]);
  sh(root, ["git", "commit", "-q", "-m", "initial"]);
  const files = Number(sh(root, ["sh", "-c", "git ls-files | wc -l"]).trim());
  const kb = Number(sh(root, ["du", "-sk", "--exclude=.git", "."]).split("\t")[0]);
  mkdirSync(join(root, ".database"));
  return { root, files, mb: kb / 1024 };
}

/** This repository's tracked files (what a clone has, without node_modules). */
function copyOwnFiles(root: string): void {
  for (const f of sh(ROOT, ["git", "ls-files", "-z"]).split("\0").filter(Boolean)) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    try {
      copyFileSync(join(ROOT, f), join(root, f));
    } catch {}
  }
}

/** 10,000 source-like files of ~2 KB in 200 directories. */
function synthetic(root: string): void {
  const line = "export const value = computeSomethingReasonablyLong(alpha, beta, gamma); // filler\n";
  const body = line.repeat(Math.ceil(2048 / line.length));
  for (let d = 0; d < 200; d++) {
    const dir = join(root, "src", `module-${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 50; f++) writeFileSync(join(dir, `file-${f}.ts`), `// ${d}/${f}\n${body}`);
  }
}

async function measure(tag: string, label: string, fill: (root: string) => void, runs: number): Promise<Row[]> {
  const r = makeRepo(tag, fill);
  try {
    const repo = findRepo(r.root)!;
    const workspace = join(r.root, ".database");
    const { branch: integration } = await createIntegrationBranch(repo, "1");
    const add: number[] = [];
    const remove: number[] = [];
    const merge: number[] = [];
    const bareAdd: number[] = [];
    const bareRemove: number[] = [];
    let diskKb = 0;
    for (let i = 0; i < runs; i++) {
      // Bare git alongside (interleaved, so load elsewhere hits both alike): ours adds a worktree
      // list, a branch created by compare-and-swap, and a rename before removal.
      const bare = join(workspace, `bare-${i}`);
      let t0 = performance.now();
      sh(r.root, ["git", "worktree", "add", "-q", "-b", `bare-${i}`, bare, integration]);
      bareAdd.push(performance.now() - t0);
      t0 = performance.now();
      sh(r.root, ["git", "worktree", "remove", bare]);
      bareRemove.push(performance.now() - t0);

      const sessionId = `software-engineer-${i}`;
      t0 = performance.now();
      const w = await addWorktree({ repo, workspace, sessionId, from: integration });
      add.push(performance.now() - t0);
      if (i === 0) {
        // The checkout plus git's per-worktree metadata (its index is most of that).
        const tree = Number(sh(r.root, ["du", "-sk", w.path]).split("\t")[0]);
        const meta = Number(sh(r.root, ["du", "-sk", join(repo.commonDir, "worktrees", sessionId)]).split("\t")[0]);
        diskKb = tree + meta;
      }
      writeFileSync(join(w.path, `change-${i}.txt`), `session ${i}\n`);
      await commitAll(w.path, `session ${i}`);
      t0 = performance.now();
      const m = await mergeBranch({ repo, workspace, integration, branch: w.branch, fastForward: false });
      merge.push(performance.now() - t0);
      if (m.state !== "merged") throw new Error(`merge ${i}: ${m.state}`);
      t0 = performance.now();
      await removeWorktree(repo, w.path);
      remove.push(performance.now() - t0);
    }
    const what = `${label} (${r.files.toLocaleString("en-US")} files, ${r.mb.toFixed(1)} MB)`;
    return [
      {
        section: "worktree",
        metric: `add, ${what}, p50 / p90 (n=${runs})`,
        value: `${ms(median(add))} / ${ms(percentile(add, 90))}`,
        baseline: `${ms(median(bareAdd))} / ${ms(percentile(bareAdd, 90))} (git worktree add)`,
      },
      {
        section: "worktree",
        metric: `remove, ${what}, p50 / p90`,
        value: `${ms(median(remove))} / ${ms(percentile(remove, 90))}`,
        baseline: `${ms(median(bareRemove))} / ${ms(percentile(bareRemove, 90))} (git worktree remove)`,
      },
      { section: "worktree", metric: `disk per worktree, ${what}`, value: `${(diskKb / 1024).toFixed(1)} MB`, baseline: `${r.mb.toFixed(1)} MB (the files)` },
      { section: "worktree", metric: `merge one session (merge commit), ${what}, p50 / p90`, value: `${ms(median(merge))} / ${ms(percentile(merge, 90))}` },
    ];
  } finally {
    rmSync(r.root, { recursive: true, force: true });
  }
}

/** `runs` on this repository's files; a quarter of that (at least 3) on the 10,000-file one. */
export async function worktreeBench(runs = 20): Promise<Row[]> {
  const own = await measure("own", "this repository", copyOwnFiles, runs);
  const big = await measure("10k", "synthetic", synthetic, Math.max(3, Math.round(runs / 4)));
  return [...own, ...big];
}

if (import.meta.main) printTable(await worktreeBench(Number(process.argv[2] ?? 20)));
