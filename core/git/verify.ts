import { existsSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { gitCrashPoint } from "./crash";
import {readJson, writeFileAtomic, writeJsonAtomic } from "../base/fsx";
import { readText } from "../base/read-text";
import { isOurProcess, spawnDetached, stopGroup } from "../processes/proc";
import { type Repo, committingArgs, git, gitEnv } from "./repo";
import { isWorktreeRace, listWorktrees, realWorktreesDir, removeWorktree } from "./worktree";

/**
 * `team start --verify "<cmd>"`: the user's own command line, run with `sh -c` (the one place a
 * shell string is acceptable: it is what the user typed, never agent text) on a merge result
 * checked out detached in a scratch worktree, before the integration branch moves to it.
 *
 * It runs as its own process group, its PID recorded beside the scratch dir, so a supervisor that
 * crashed mid-verify leaves nothing the next attempt cannot find, stop and clear away.
 */

export interface VerifyResult {
  ok: boolean;
  exitCode: number | null;
  timedOut: boolean;
  /** The end of its output (stdout and stderr interleaved). */
  tail: string;
}

const TAIL_LINES = 40;
const TAIL_CHARS = 4000;
export const DEFAULT_VERIFY_TIMEOUT_MS = 30 * 60_000;

/** `.verify-<branch with / as ->`: one scratch worktree per branch being merged. */
function scratchName(name: string): string {
  return `.verify-${name.replace(/[^A-Za-z0-9._-]/g, "-")}`;
}

export async function runVerify(opts: {
  repo: Repo;
  workspace: string;
  /** Whose merge this is (the session branch): names the scratch worktree. */
  name: string;
  commit: string;
  command: string;
  timeoutMs?: number;
  log?: string;
}): Promise<VerifyResult> {
  const dir = realWorktreesDir(opts.workspace);
  const scratch = join(dir, scratchName(opts.name));
  const pidFile = `${scratch}.pid`;
  const log = opts.log ?? `${scratch}.log`;
  await clearScratch(opts.repo, scratch);

  // Hooks off: a post-checkout hook is the user's, for their checkouts, not for our scratch one.
  for (let attempt = 0; ; attempt++) {
    try {
      await git(opts.repo.root, committingArgs(opts.repo.root, ["worktree", "add", "--quiet", "--detach", scratch, opts.commit]));
      break;
    } catch (err) {
      // A session's worktree being added at the same moment (see isWorktreeRace): again, from clean.
      if (!isWorktreeRace(err) || attempt >= 5) throw err;
      await Bun.sleep(20 * 2 ** attempt);
      await clearScratch(opts.repo, scratch);
    }
  }
  writeFileAtomic(log, "");
  const env = gitEnv({ CLAUDE_WRAPPER_VERIFY_COMMIT: opts.commit });
  // The user's locale for their command; not an agent: nothing may take it for a session's.
  if (process.env.LC_ALL === undefined) delete env.LC_ALL;
  else env.LC_ALL = process.env.LC_ALL;
  for (const k of ["CLAUDE_WRAPPER_SESSION_ID", "CLAUDE_WRAPPER_SESSION_DIR", "CLAUDE_WRAPPER_PERSONA"]) delete env[k];
  const cwd = opts.repo.prefix ? join(scratch, opts.repo.prefix) : scratch;
  const child = spawnDetached({ argv: ["sh", "-c", opts.command], cwd, env, stdoutPath: log, stderrPath: log });
  writeJsonAtomic(pidFile, { pid: child.pid, startTime: child.startTime });
  gitCrashPoint("merge:verifying");

  const timeoutMs = opts.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  const end = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  // Whatever it left running (a server a test started, the rest of a timed-out run) goes too.
  await stopGroup(child.pid, 2000);
  const exit = end === "timeout" ? await child.exited : end;

  const out = readText(log) ?? "";
  const lines = out.trimEnd().split("\n");
  let tail = lines.slice(-TAIL_LINES).join("\n");
  if (tail.length > TAIL_CHARS) tail = tail.slice(-TAIL_CHARS);
  if (end === "timeout") tail = `${tail}\n(stopped after ${Math.round(timeoutMs / 1000)} s)`.trimStart();

  await clearScratch(opts.repo, scratch);
  const ok = end !== "timeout" && exit.code === 0;
  return { ok, exitCode: end === "timeout" ? null : exit.code, timedOut: end === "timeout", tail };
}

/** Stop the verify run of `name`'s merge, if one runs, and remove its scratch worktree (a supervisor stopping). */
export async function stopVerify(repo: Repo, workspace: string, name: string): Promise<void> {
  await clearScratch(repo, join(realWorktreesDir(workspace), scratchName(name)));
}

/**
 * Stop a verify run a crashed supervisor left (only the process recorded, by PID and start
 * time: a reused PID is someone else's) and remove its scratch worktree.
 */
export async function clearScratch(repo: Repo, scratch: string): Promise<void> {
  const pidFile = `${scratch}.pid`;
  const rec = readJson<{ pid?: number; startTime?: string }>(pidFile);
  if (rec?.pid && isOurProcess(rec.pid, rec.startTime)) await stopGroup(rec.pid, 2000);
  const known = (await listWorktrees(repo)).some((w) => w.path === scratch);
  if (known || existsSync(scratch)) await removeWorktree(repo, scratch, { force: true });
  // A dir git never registered (a crash inside `worktree add`) is ours: scratch holds no work.
  rmSync(scratch, { recursive: true, force: true });
  try {
    unlinkSync(pidFile);
  } catch {}
}
