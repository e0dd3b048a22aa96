/**
 * `doctor`: what stands between this machine and a working team, checked without spending a
 * token. Each check says ok / warn / fail / unknown with the fix; only `fail` makes it exit 1.
 * Where a thing cannot be told from outside (a CLI with no way to ask whether it is logged in)
 * it says "unknown" rather than guessing.
 */
import { plural } from "../base/format";
import { readFileSync, readdirSync, unlinkSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { errorMessage } from "../base/errors";
import { lstatOrUndefined, writeFileAtomic } from "../base/fsx";
import { MAX_REQUEST_WATCHES } from "../base/watch-entries";
import { checkAgents } from "./doctor-agents";
import { cleanWorkspace } from "./clean";
import { liveOrchestrator, orchestratorPidPath, readOrchestratorPid } from "../workspace/owner";
import { type PersonaProblem, builtInPersonaNames, loadPersonaSet, loadPersonas, personasDir } from "../workspace/personas";
import { inotifyUsage, isOurProcess } from "../processes/proc";
import { inspectRequest, quoted } from "../workspace/requests";
import { isLiveStatus, isStandIn, readSession } from "../workspace/session";
import { readAllSessions } from "../workspace/store";
import { listEntries, projectRoot } from "../workspace/paths";

export type CheckStatus = "ok" | "warn" | "fail" | "unknown";

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  workspace: string;
  plannedAgents: number;
  checks: Check[];
}

export interface DoctorOptions {
  workspace: string;
  /** Agents expected to run at once (default: the workspace's live sessions, at least 4). */
  plannedAgents?: number;
  env?: Record<string, string | undefined>;
  home?: string;
  /** How long an agent CLI's `--version` or login probe may take. */
  versionTimeoutMs?: number;
}

function readNumber(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function countDirs(root: string, cap = 100_000): number {
  let n = 0;
  const stack = [root];
  while (stack.length && n < cap) {
    const dir = stack.pop()!;
    n++;
    try {
      for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) stack.push(join(dir, d.name));
    } catch {}
  }
  return n;
}

/**
 * The orchestrator watches every dir of the workspace; each agent CLI may hold a watcher of its
 * own. Too few instances or watches and events silently stop (or the watcher fails to start).
 */
export function checkInotify(workspace: string, planned: number, platform = process.platform): Check {
  const title = "inotify";
  if (platform !== "linux") return { id: "inotify", title, status: "ok", detail: `not Linux (${platform}): no inotify limits apply` };
  const maxWatches = readNumber("/proc/sys/fs/inotify/max_user_watches");
  const maxInstances = readNumber("/proc/sys/fs/inotify/max_user_instances");
  if (maxWatches === undefined || maxInstances === undefined) {
    return { id: "inotify", title, status: "unknown", detail: "cannot read /proc/sys/fs/inotify limits" };
  }
  const used = inotifyUsage();
  const exists = lstatOrUndefined(workspace)?.isDirectory() ?? false;
  const dirs = exists ? countDirs(workspace) : 1;
  // Per agent: one instance for its CLI, a few dirs of its own; the orchestrator (two instances:
  // its tree watcher, and its uncoalesced watches of the top level and of requests being
  // written), track, logs -f; and some room.
  const needInstances = planned + 4;
  const needWatches = dirs + 1 + MAX_REQUEST_WATCHES + planned * 16 + 64;
  const freeInstances = maxInstances - used.instances;
  const freeWatches = maxWatches - used.watches;
  const detail = `max_user_watches ${maxWatches} (${used.watches} in use), max_user_instances ${maxInstances} (${used.instances} in use); ${planned} planned agents${exists ? `, ${plural(dirs, "workspace dir")}` : ""}`;
  const fix = "raise the limits, e.g. `sudo sysctl fs.inotify.max_user_instances=1024 fs.inotify.max_user_watches=524288` (add them to /etc/sysctl.d/ to keep them)";
  if (freeInstances < needInstances || freeWatches < needWatches) return { id: "inotify", title, status: "fail", detail: `too low: ${detail}`, fix };
  if (freeInstances < needInstances * 2 || freeWatches < needWatches * 4) return { id: "inotify", title, status: "warn", detail: `little headroom: ${detail}`, fix };
  return { id: "inotify", title, status: "ok", detail };
}

function checkWorkspaceDir(workspace: string): Check {
  const title = "workspace";
  const st = lstatOrUndefined(workspace);
  if (!st) return { id: "workspace", title, status: "warn", detail: `no workspace at ${workspace} yet`, fix: 'start a team with `claude-wrapper team start "<goal>"`, or pass --workspace DIR' };
  if (!st.isDirectory()) return { id: "workspace", title, status: "fail", detail: `${workspace} exists but is not a directory`, fix: "move it away or pass --workspace DIR" };
  const probe = join(workspace, `.doctor-${process.pid}.tmp`);
  try {
    writeFileAtomic(probe, "ok\n");
    unlinkSync(probe);
  } catch (err) {
    return { id: "workspace", title, status: "fail", detail: `${workspace} is not writable: ${errorMessage(err)}`, fix: "fix its permissions or pass --workspace DIR" };
  }
  return { id: "workspace", title, status: "ok", detail: `${workspace} exists and is writable` };
}

function checkSessions(workspace: string, orchestratorLive: boolean): Check {
  const title = "sessions";
  const corrupt: string[] = [];
  const orphaned: string[] = [];
  const unfinished: string[] = [];
  let sessions = 0;
  let archived = 0;
  for (const e of listEntries(workspace)) {
    if (e.kind === "request") continue;
    const dir = join(workspace, e.dir);
    const rec = readSession(dir, e.id, e.persona);
    if (!rec) {
      const age = Date.now() - (lstatOrUndefined(dir)?.mtimeMs ?? Date.now());
      if (age > 60_000) unfinished.push(e.dir);
      continue;
    }
    if (e.kind === "archive") archived++;
    else sessions++;
    if (isStandIn(rec)) {
      corrupt.push(`${e.dir} (${rec.error})`);
      continue;
    }
    if (e.kind === "session" && !orchestratorLive && rec.status === "active" && !isOurProcess(rec.pid, rec.pidStartTime)) orphaned.push(e.id);
  }
  const counts = `${plural(sessions, "session")}, ${archived} archived`;
  if (corrupt.length) {
    return { id: "sessions", title, status: "fail", detail: `${counts}; unreadable session.json: ${corrupt.join(", ")}`, fix: "fix or remove those session.json files (the orchestrator leaves such sessions alone)" };
  }
  const notes: string[] = [];
  if (orphaned.length) notes.push(`${orphaned.length} marked active with no agent running (${orphaned.slice(0, 3).join(", ")}${orphaned.length > 3 ? ", …" : ""})`);
  if (unfinished.length) notes.push(`${unfinished.length} dir(s) without session.json for over a minute (${unfinished.slice(0, 3).join(", ")})`);
  if (notes.length) return { id: "sessions", title, status: "warn", detail: `${counts}; ${notes.join("; ")}`, fix: "`claude-wrapper orchestrate` picks them up (restarts or finishes setting them up)" };
  return { id: "sessions", title, status: "ok", detail: counts };
}

function checkRequests(workspace: string, orchestratorLive: boolean): Check {
  const title = "requests";
  const personas = loadPersonas(workspace);
  const waiting: string[] = [];
  const invalid: string[] = [];
  for (const e of listEntries(workspace)) {
    if (e.kind !== "request") continue;
    const st = inspectRequest(workspace, e, personas, Date.now(), new Map());
    if (st.kind === "invalid") invalid.push(`${quoted(e.dir)}: ${st.reason}`);
    else waiting.push(e.dir);
  }
  if (invalid.length) return { id: "requests", title, status: "warn", detail: `${invalid.length} request(s) that will not be taken: ${invalid.join("; ")}`, fix: "fix or remove those request dirs" };
  if (waiting.length && !orchestratorLive) {
    return { id: "requests", title, status: "warn", detail: `${waiting.length} request(s) waiting and no orchestrator running: ${waiting.join(", ")}`, fix: "start `claude-wrapper orchestrate`" };
  }
  return { id: "requests", title, status: "ok", detail: waiting.length ? `${waiting.length} request(s) waiting for the orchestrator: ${waiting.join(", ")}` : "none waiting" };
}

function checkOrchestrator(workspace: string): Check {
  const title = "orchestrator";
  const live = liveOrchestrator(workspace);
  if (live) return { id: "orchestrator", title, status: "ok", detail: `running (PID ${live.pid}, since ${live.startedAt || "?"})` };
  const rec = readOrchestratorPid(workspace);
  if (rec) {
    return {
      id: "orchestrator",
      title,
      status: "warn",
      detail: `stale ${orchestratorPidPath(workspace)}: PID ${rec.pid} is no longer that orchestrator (it crashed or was killed)`,
      fix: "`claude-wrapper orchestrate` takes it over; `claude-wrapper team stop` cleans up its agents",
    };
  }
  if (lstatOrUndefined(orchestratorPidPath(workspace))) {
    return { id: "orchestrator", title, status: "warn", detail: `${orchestratorPidPath(workspace)} is unreadable`, fix: "remove it when no orchestrator runs" };
  }
  return { id: "orchestrator", title, status: "ok", detail: "not running" };
}

function checkPersonas(workspace: string): Check {
  const title = "personas";
  const dir = personasDir(workspace);
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".md"));
  } catch {
    return { id: "personas", title, status: "ok", detail: `built-in only (${builtInPersonaNames().join(", ")})` };
  }
  const { problems } = loadPersonaSet(workspace);
  const say = (p: PersonaProblem) => `${p.file}: ${p.reason}`;
  const failures: string[] = [];
  for (const file of new Set(problems.filter((p) => p.level === "error").map((p) => p.file))) {
    const mine = problems.filter((p) => p.file === file && p.level === "error");
    // Say what runs instead only where something does: a new persona with an error has no stand-in.
    const instead = mine[0]!.builtIn ? "the built-in persona is used instead" : `no "${mine[0]!.persona}" persona until it is fixed`;
    failures.push(`${file}: ${mine.map((p) => p.reason).join("; ")} (${instead})`);
  }
  const warnings = problems.filter((p) => p.level === "warning").map(say);
  const count = `${plural(files.length, "persona file")} in ${dir}`;
  if (failures.length) return { id: "personas", title, status: "fail", detail: `${count}; ${[...failures, ...warnings].join("; ")}`, fix: "fix those files (YAML frontmatter: label, canRequest, model, permissionMode, allowedTools, agent, worktree), or remove them" };
  if (warnings.length) return { id: "personas", title, status: "warn", detail: `${count}; ${warnings.join("; ")}` };
  return { id: "personas", title, status: "ok", detail: count };
}

/** Worktrees and merged branches finished sessions left (what `team clean` would remove). */
async function checkWorktrees(workspace: string): Promise<Check | undefined> {
  const title = "worktrees";
  let plan: Awaited<ReturnType<typeof cleanWorkspace>>;
  try {
    plan = await cleanWorkspace(workspace, { dryRun: true });
  } catch (err) {
    return { id: "worktrees", title, status: "warn", detail: `cannot list the team's git worktrees: ${errorMessage(err)}` };
  }
  if (!plan.repository) return undefined;
  const stale = plan.removed.filter((r) => r.kind !== "branch");
  const branches = plan.removed.filter((r) => r.kind === "branch");
  const kept = plan.kept.filter((k) => k.kind !== "branch");
  const notes: string[] = [];
  if (stale.length) notes.push(`${plural(stale.length, "stale worktree")} (${stale.slice(0, 3).map((s) => s.what).join(", ")}${stale.length > 3 ? ", …" : ""})`);
  if (branches.length) notes.push(`${plural(branches.length, "merged session branch", "merged session branches")}`);
  if (kept.length) notes.push(`${kept.length} left to you: ${kept.map((k) => `${k.what} (${k.why})`).join("; ")}`);
  if (!notes.length) return { id: "worktrees", title, status: "ok", detail: "no leftover worktree or merged session branch" };
  return { id: "worktrees", title, status: "warn", detail: notes.join("; "), fix: "`claude-wrapper team clean` removes them (never unmerged or uncommitted work)" };
}

/** Every check, in the order a person would fix them. */
export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const { workspace } = opts;
  const exists = lstatOrUndefined(workspace)?.isDirectory() ?? false;
  const checks: Check[] = [];

  checks.push(...(await checkAgents({ workspace, exists, env, home, projectRoot: projectRoot(workspace), timeoutMs: opts.versionTimeoutMs })));

  const live = exists ? readAllSessions(workspace).filter((s) => isLiveStatus(s.rec.status)).length : 0;
  const plannedAgents = opts.plannedAgents ?? Math.max(4, live);
  checks.push(checkInotify(workspace, plannedAgents));

  checks.push(checkWorkspaceDir(workspace));
  if (exists) {
    const orchestratorLive = liveOrchestrator(workspace) !== undefined;
    checks.push(checkOrchestrator(workspace));
    checks.push(checkSessions(workspace, orchestratorLive));
    checks.push(checkRequests(workspace, orchestratorLive));
    checks.push(checkPersonas(workspace));
    const worktrees = await checkWorktrees(workspace);
    if (worktrees) checks.push(worktrees);
  }
  return { ok: checks.every((c) => c.status !== "fail"), workspace, plannedAgents, checks };
}
