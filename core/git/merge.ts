import { join } from "node:path";
import { gitCrashPoint } from "./crash";
import { type Repo, GitError, branchRef, breakStaleLock, changedFiles, committingArgs, git, gitSaid, isAncestor, resolveCommit } from "./repo";
import { listWorktrees } from "./worktree";
import { type VerifyResult, runVerify } from "./verify";

/**
 * Merging a session's branch into the integration branch without checking either out: the
 * merge is computed in the object store (`merge-tree --write-tree`), committed (`commit-tree`),
 * optionally verified in a scratch worktree, and published by a compare-and-swap of the branch
 * ref. Until that last step nothing anyone sees has changed, so a crash anywhere before it is
 * undone by simply running the merge again; after it, the branch tip is an ancestor of the
 * integration tip and the merge answers "merged" without making a second merge commit.
 */

export type MergeResult =
  | {
      state: "merged";
      /** The commit that brought the branch in: our merge commit, or the branch tip itself (fast-forward). */
      commit: string;
      /** Files the merge changed on the integration branch. */
      files: string[];
      fastForward: boolean;
      /** True when the branch had already been merged (by an earlier call, or before a crash). */
      already: boolean;
    }
  | { state: "conflict"; files: string[] }
  | { state: "verify-failed"; commit: string; exitCode: number | null; timedOut: boolean; tail: string }
  /** Nothing was tried: the integration branch is checked out somewhere, so moving it would change that checkout. */
  | { state: "blocked"; reason: string };

export interface MergeOptions {
  repo: Repo;
  /** The workspace: scratch worktrees for `verify` go under its worktrees dir. */
  workspace: string;
  integration: string;
  branch: string;
  /** The user's `--verify` command, run with `sh -c` on the merge result before the branch moves. */
  verify?: string;
  verifyTimeoutMs?: number;
  /** Where the verify command's whole output goes (default: beside its scratch worktree). */
  verifyLog?: string;
  /** Fast-forward when the integration tip is an ancestor of the branch (default true). */
  fastForward?: boolean;
  /** Body of the merge commit's message, under the subject line. */
  message?: string;
  /** Told before a long step starts, so the caller can record it ("verifying"). */
  onStep?: (step: "verifying") => void | Promise<void>;
}

function failed(r: { code: number; stderr: string }): GitError {
  return new GitError(`git update-ref: ${gitSaid(r.stderr, r.code)}`, ["update-ref"], r.code, r.stderr);
}

/** The integration tip moving this many times during one merge means something else is wrong. */
const MAX_ATTEMPTS = 5;

export async function mergeBranch(opts: MergeOptions): Promise<MergeResult> {
  const { repo } = opts;
  const intRef = branchRef(opts.integration);
  const brRef = branchRef(opts.branch);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const intTip = await resolveCommit(repo.root, intRef);
    if (!intTip) throw new GitError(`the integration branch ${opts.integration} does not exist`, [], 1, "");
    const brTip = await resolveCommit(repo.root, brRef);
    if (!brTip) throw new GitError(`branch ${opts.branch} does not exist`, [], 1, "");

    if (await isAncestor(repo.root, brTip, intTip)) return await alreadyMerged(repo, intRef, intTip, brTip);

    const holder = (await listWorktrees(repo)).find((w) => w.ref === intRef);
    if (holder) {
      return {
        state: "blocked",
        reason: `${opts.integration} is checked out in ${holder.path}; merges into it wait until that checkout switches to another branch (git -C ${holder.path} switch --detach)`,
      };
    }

    let candidate: string;
    const fastForward = opts.fastForward !== false && (await isAncestor(repo.root, intTip, brTip));
    if (fastForward) candidate = brTip;
    else {
      const mt = await git(repo.root, ["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", intTip, brTip], { ok: [1] });
      const [tree, ...rest] = mt.stdout.split("\0");
      if (mt.code === 1) return { state: "conflict", files: [...new Set(rest.filter(Boolean))] };
      const subject = `Merge branch '${opts.branch}' into ${opts.integration}`;
      const msg = opts.message ? `${subject}\n\n${opts.message.trim()}\n` : subject;
      const ct = await git(repo.root, committingArgs(repo.root, ["commit-tree", "--no-gpg-sign", "-p", intTip, "-p", brTip, "-m", msg, tree!]));
      candidate = ct.stdout.trim();
      gitCrashPoint("merge:committed");
    }

    if (opts.verify) {
      await opts.onStep?.("verifying");
      const v: VerifyResult = await runVerify({
        repo,
        workspace: opts.workspace,
        name: opts.branch,
        commit: candidate,
        command: opts.verify,
        timeoutMs: opts.verifyTimeoutMs,
        log: opts.verifyLog,
      });
      if (!v.ok) return { state: "verify-failed", commit: candidate, exitCode: v.exitCode, timedOut: v.timedOut, tail: v.tail };
    }

    const how = fastForward ? "fast-forward" : "merge";
    const up = await git(repo.root, ["update-ref", "-m", `claude-wrapper: ${how} ${opts.branch}`, intRef, candidate, intTip], { ok: [128] });
    if (up.code === 0) {
      gitCrashPoint("merge:updated");
      return { state: "merged", commit: candidate, files: await changedFiles(repo.root, intTip, candidate), fastForward, already: false };
    }
    // The integration tip moved under us (another writer): merge again onto the new tip. Not
    // moved: the ref is locked; a lock a killed git left is broken, a live one is an error.
    if ((await resolveCommit(repo.root, intRef)) === intTip && !breakStaleLock(join(repo.commonDir, `${intRef}.lock`))) throw failed(up);
  }
  throw new GitError(`${opts.integration} kept moving while ${opts.branch} was being merged; try again`, [], 1, "");
}

/**
 * The branch is in already: find the commit that brought it in (the oldest commit on the
 * integration branch's first-parent line that contains it) and what that changed, from the
 * branch's reflog (the tip before it) when there is one.
 */
async function alreadyMerged(repo: Repo, intRef: string, intTip: string, brTip: string): Promise<MergeResult> {
  const line = await git(repo.root, ["rev-list", "--first-parent", "--ancestry-path", "--reverse", `${brTip}..${intTip}`]);
  const first = line.stdout.split("\n").find(Boolean);
  let commit = brTip;
  if (first) {
    const parent = await resolveCommit(repo.root, `${first}^1`);
    if (parent !== brTip) commit = first;
  }
  const fastForward = commit === brTip;
  const log = await git(repo.root, ["reflog", "show", "--format=%H", intRef, "--"], { ok: [128] });
  const tips = log.stdout.split("\n").filter(Boolean);
  const at = tips.indexOf(commit);
  const before = at >= 0 ? tips[at + 1] : await resolveCommit(repo.root, `${commit}^1`);
  const files = before ? await changedFiles(repo.root, before, commit) : [];
  return { state: "merged", commit, files, fastForward, already: true };
}
