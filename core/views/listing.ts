import { liveOrchestrator } from "../workspace/owner";
import { loadPersonas, modelFor } from "../workspace/personas";
import { isOurProcess, pidTable } from "../processes/proc";
import { readTextOrWhy } from "../base/read-text";
import { mergeLabel, validSessionGit } from "../git/integrate";
import { MAX_SESSION_BYTES, type SessionRecord, type SessionStatus, sessionFromText, unreadableSession } from "../workspace/session";
import { type Entry, listEntries } from "../workspace/paths";
import { inTeam, readTeam } from "../workspace/team-file";

/** One session as `attach --list`, `track` and `team status` show it: the status is the true one. */
export interface SessionRow {
  id: string;
  persona: string;
  /** The persona's short label (manager, architect, engineer, …). */
  label: string;
  name: string;
  /** What is true now: a recorded `active` whose process is gone shows as `stopped`. */
  status: SessionStatus;
  /** What session.json says. */
  recordedStatus: SessionStatus;
  /** Its agent process (PID + start time as recorded) is alive right now. */
  running: boolean;
  /** The agent's PID while it runs; null otherwise (a dead PID may belong to someone else now). */
  pid: number | null;
  recordedPid: number | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  updatedAt: string;
  dir: string;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** The agent CLI of its latest run (null: not run yet, or run before this was recorded). */
  agent: string | null;
  requestedBy: string | null;
  error: string | null;
  /** The last step on it failed on I/O and is being retried: why. */
  fault: string | null;
  archived: boolean;
  /** The model of its latest run as recorded; before its first run, the one it will get. */
  model: string | null;
  /** Its git branch, once it has a worktree; null when it works in the project root. */
  branch: string | null;
  /** Where its branch's merge stands: `unmerged`, `verifying`, `merged <sha>`, `conflict`, … (null without a branch). */
  merge: string | null;
  /** Where its agent works in its worktree, while the worktree is there. */
  worktree: string | null;
}

/**
 * The task progress session.json recorded, kept on a row under a symbol: JSON output never shows
 * it, and `team status` trusts it while tasks.md is the very file it was counted from.
 */
export const RECORDED_TASKS = Symbol("recordedTasks");
export type RecordedTasks = { key: string; done: number; total: number };

/** The order teams are shown in: the manager first, then who it leads; other personas after. */
const PERSONA_ORDER = ["engineering-manager", "solutions-architect", "software-engineer", "intern"];

/**
 * The status to show. A session said to be `active` is only active while its very process
 * (PID + start time) runs; a `restarting` one only while an orchestrator is there to restart it.
 * Otherwise nothing will move it on: it is `stopped`.
 */
export function effectiveStatus(recorded: SessionStatus, running: boolean, orchestratorLive: boolean): SessionStatus {
  // While an orchestrator is there (even suspended) it judges the ended run; until then, as recorded.
  if (recorded === "active" && !running) return orchestratorLive ? "active" : "stopped";
  if (recorded === "restarting" && !running && !orchestratorLive) return "stopped";
  return recorded;
}

function msOf(id: string): number {
  return Number(id.slice(id.lastIndexOf("-") + 1));
}

export function personaRank(persona: string): number {
  const i = PERSONA_ORDER.indexOf(persona);
  return i < 0 ? PERSONA_ORDER.length : i;
}

export function toRow(rec: SessionRecord, dir: string, archived: boolean, label: string, orchestratorLive: boolean, maybeAlive: (pid: number) => boolean = () => true): SessionRow {
  // Only a recorded PID costs a look at the process table (one /proc read on Linux).
  const running = !archived && rec.pid !== null && maybeAlive(rec.pid) && isOurProcess(rec.pid, rec.pidStartTime);
  const row: SessionRow = {
    id: rec.id,
    persona: rec.persona,
    label,
    name: rec.name,
    status: archived ? rec.status : effectiveStatus(rec.status, running, orchestratorLive),
    recordedStatus: rec.status,
    running,
    pid: running ? rec.pid : null,
    recordedPid: rec.pid,
    createdAt: rec.createdAt,
    startedAt: rec.startedAt,
    endedAt: rec.endedAt ?? null,
    updatedAt: rec.updatedAt,
    dir,
    costUsd: rec.costUsd,
    inputTokens: rec.inputTokens,
    outputTokens: rec.outputTokens,
    agent: rec.agent ?? null,
    requestedBy: rec.requestedBy,
    error: rec.error,
    fault: rec.fault ?? null,
    archived,
    model: rec.model ?? null,
    branch: null,
    merge: null,
    worktree: null,
  };
  if (rec.git) {
    const g = validSessionGit(rec.git);
    if (g) {
      row.branch = g.branch;
      row.merge = mergeLabel(g);
      row.worktree = g.worktreeRemoved ? null : g.cwd;
    }
  }
  if (rec.tasksKey && typeof rec.tasksDone === "number" && typeof rec.tasksTotal === "number") {
    (row as SessionRow & { [RECORDED_TASKS]?: RecordedTasks })[RECORDED_TASKS] = { key: rec.tasksKey, done: rec.tasksDone, total: rec.tasksTotal };
  }
  return row;
}

export interface ListOptions {
  /** Include archived (`<id>-completed`) sessions and earlier teams' sessions. */
  all?: boolean;
}

export function personaLabels(workspace: string): Map<string, string> {
  return personaFacts(workspace).labels;
}

/** Each persona's label, and the model a session of it gets (team flags over its frontmatter). */
function personaFacts(workspace: string): { labels: Map<string, string>; models: Map<string, string | null> } {
  const labels = new Map<string, string>();
  const models = new Map<string, string | null>();
  const team = readTeam(workspace);
  for (const [name, p] of loadPersonas(workspace)) {
    labels.set(name, p.label);
    models.set(name, modelFor(p, team) ?? null);
  }
  return { labels, models };
}

/**
 * Rows for the given workspace entries (requests are skipped; dirs still being set up too). A
 * session.json that exists but cannot be read is a `failed` row saying why, never left out.
 */
export function rowsFor(workspace: string, entries: Entry[]): SessionRow[] {
  const { labels, models } = personaFacts(workspace);
  const orchestratorLive = liveOrchestrator(workspace) !== undefined;
  // Parallel arrays rather than an object per session: listings run over tens of thousands.
  const kept: Array<Entry & { id: string }> = [];
  const dirs: string[] = [];
  const recs: SessionRecord[] = [];
  for (const e of entries) {
    if (e.kind === "request") continue;
    // Plain concatenation: path.join costs as much as the JSON parse at this scale.
    const dir = `${workspace}/${e.dir}`;
    const text = readTextOrWhy(`${dir}/session.json`, MAX_SESSION_BYTES, { whole: true });
    if (typeof text !== "string" && text.failure === "missing") continue;
    kept.push(e);
    dirs.push(dir);
    recs.push(typeof text === "string" ? sessionFromText(text, e.id, e.persona) : unreadableSession(e.id, e.persona, text));
  }
  // Looked at after every record is read: any process a record names started before this.
  const maybeAlive = pidTable();
  const ranks = personaRanks(kept);
  const keyed = new Array<{ row: SessionRow; key: number }>(kept.length);
  for (let i = 0; i < kept.length; i++) {
    const e = kept[i]!;
    const row = toRow(recs[i]!, dirs[i]!, e.kind === "archive", labels.get(e.persona) ?? e.persona, orchestratorLive, maybeAlive);
    if (row.model === null && !row.archived && row.startedAt === null) row.model = models.get(e.persona) ?? null;
    // One number per row (persona group, then creation ms): sorting 10,000 rows stays cheap.
    keyed[i] = { row, key: ranks.get(e.persona)! * 2 ** 42 + msOf(e.id) };
  }
  keyed.sort((a, b) => a.key - b.key || (a.row.id < b.row.id ? -1 : 1));
  return keyed.map((k) => k.row);
}

/**
 * Each persona's place in a listing: the known ones in PERSONA_ORDER, then the others by name.
 * Worked out once per persona, not once per row.
 */
function personaRanks(entries: Array<{ persona: string }>): Map<string, number> {
  const ranks = new Map<string, number>();
  const unknown: string[] = [];
  for (const { persona } of entries) {
    if (ranks.has(persona)) continue;
    const rank = personaRank(persona);
    ranks.set(persona, rank);
    if (rank === PERSONA_ORDER.length) unknown.push(persona);
  }
  unknown.sort();
  for (let i = 0; i < unknown.length; i++) ranks.set(unknown[i]!, PERSONA_ORDER.length + i);
  return ranks;
}

/** The row `attach --list --json` prints: what a script needs to find and reach a session. */
export function listJson(r: SessionRow) {
  return {
    id: r.id,
    persona: r.persona,
    label: r.label,
    name: r.name,
    status: r.status,
    recordedStatus: r.recordedStatus,
    running: r.running,
    pid: r.pid,
    startedAt: r.startedAt,
    dir: r.dir,
    costUsd: r.costUsd,
    archived: r.archived,
    branch: r.branch,
    merge: r.merge,
    worktree: r.worktree,
    // Why it failed, or why its session.json could not be read: a row is never silently dropped.
    error: r.error,
  };
}


/**
 * The sessions a listing shows, as rows read fresh from disk, grouped by persona: the current
 * team's live ones, or with `all` every session the workspace holds (archived, earlier teams').
 */
export function listRows(workspace: string, opts: ListOptions = {}): SessionRow[] {
  return rowsFor(workspace, listedEntries(workspace, opts).shown);
}

/** The entries a listing shows, and how many sessions of earlier teams it leaves out. */
export function listedEntries(workspace: string, opts: ListOptions = {}): { shown: Entry[]; earlier: number } {
  const team = opts.all ? undefined : readTeam(workspace);
  const shown: Entry[] = [];
  let earlier = 0;
  for (const e of listEntries(workspace)) {
    if (e.kind === "request" || (e.kind === "archive" && !opts.all)) continue;
    if (inTeam(team, e.id)) shown.push(e);
    else earlier++;
  }
  return { shown, earlier };
}

function words(s: string): string[] {
  return s.toLowerCase().split(/[-\s_]+/).filter(Boolean);
}

function containsRun(haystack: string[], needle: string[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * `--filter X`: the persona or the name holds X as whole dash-separated words, so `engineer`
 * finds software-engineer-* and engineer-2 but not the engineering-manager.
 */
export function matchesFilter(row: Pick<SessionRow, "persona" | "name">, filter: string): boolean {
  const needle = words(filter);
  if (needle.length === 0) return true;
  return containsRun(words(row.persona), needle) || containsRun(words(row.name), needle);
}
