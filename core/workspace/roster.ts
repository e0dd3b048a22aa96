/**
 * ROSTER.md: the team as its agents see it. Who exists, what each is doing, who is idle, who
 * finished and where its work is. Written atomically by the orchestrator (and `team start`), never
 * by agents, and only when its text changes; the orchestrator's watcher ignores it.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../base/fsx";
import { readText } from "../base/read-text";
import { type Persona, modelFor } from "./personas";
import { type SessionRecord, type SessionStatus, readSession } from "./session";
import { type TeamRecord, readTeam } from "./team-file";
import { ROSTER_FILE, archiveDirName, listEntries } from "./paths";
import { readAllSessions } from "./store";

export { ROSTER_FILE };

export function rosterPath(workspace: string): string {
  return join(workspace, ROSTER_FILE);
}

export interface RosterEntry {
  id: string;
  name: string;
  persona: string;
  label: string;
  status: SessionStatus;
  requestedBy: string | null;
  tasksDone: number | null;
  tasksTotal: number | null;
  costUsd: number;
  model: string | null;
  /** The dir as named in the workspace (`<id>` or `<id>-completed`). */
  dir: string;
  archived: boolean;
  /** Notes it left in its dir besides the bookkeeping files (design.md, …), archived ones only. */
  produced?: string[];
  /** Its git branch, once sessions get worktrees. */
  branch?: string | null;
}

/** Files every session has: not "what it produced". */
const BOOKKEEPING = new Set(["instructions.md", "persona-instructions.md", "tasks.md"]);

/** The Markdown notes a session left in its dir (design.md, notes.md, …), sorted. */
export function producedFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".md") && !f.startsWith(".") && !BOOKKEEPING.has(f))
      .sort()
      .slice(0, 10);
  } catch {
    return [];
  }
}

export function rosterEntry(rec: SessionRecord, label: string, archived: boolean, model?: string | null): RosterEntry {
  const counted = typeof rec.tasksDone === "number" && typeof rec.tasksTotal === "number";
  return {
    id: rec.id,
    name: rec.name,
    persona: rec.persona,
    label,
    status: rec.status,
    requestedBy: rec.requestedBy,
    tasksDone: counted ? rec.tasksDone! : null,
    tasksTotal: counted ? rec.tasksTotal! : null,
    costUsd: rec.costUsd,
    model: rec.model ?? model ?? null,
    dir: archived ? archiveDirName(rec.id) : rec.id,
    archived,
    // Shown once a session has a worktree (and so a branch of its own).
    branch: typeof rec.git?.branch === "string" ? rec.git.branch : null,
  };
}

/** The order a team reads in: the manager, the architect, engineers, interns, then the rest. */
const ORDER = ["engineering-manager", "solutions-architect", "software-engineer", "intern"];
const rank = (persona: string) => (ORDER.includes(persona) ? ORDER.indexOf(persona) : ORDER.length);
const byTeamOrder = (a: RosterEntry, b: RosterEntry) => rank(a.persona) - rank(b.persona) || a.persona.localeCompare(b.persona) || (a.id < b.id ? -1 : 1);

/** A table cell: one line, no pipe that would split it. */
function cell(s: string): string {
  return s.replace(/\s+/g, " ").replace(/\|/g, "\\|");
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(" | ")} |`;
}

function table(head: string[], rows: string[][]): string[] {
  return [row(head), `|${head.map(() => " --- |").join("")}`, ...rows.map(row)];
}

const STATUS_NOTE: Partial<Record<SessionStatus, string>> = {
  idle: "idle (waiting for work)",
  pending: "pending (not started yet)",
  queued: "queued (waiting for a slot)",
  restarting: "restarting (its agent crashed)",
};

export interface RosterOptions {
  workspace: string;
  goal: string;
  /** Archived sessions shown at most (the newest); the rest are counted. */
  maxArchived?: number;
}

/** The roster's Markdown: pure, so the same team always renders the same text. */
export function renderRoster(entries: RosterEntry[], opts: RosterOptions): string {
  const names = new Map(entries.map((e) => [e.id, e.name]));
  const who = (id: string | null) => (id ? (names.get(id) ?? id) : "user");
  const live = entries.filter((e) => !e.archived).sort(byTeamOrder);
  const maxArchived = opts.maxArchived ?? 100;
  const archivedAll = entries.filter((e) => e.archived).sort((a, b) => (a.id < b.id ? 1 : -1));
  const archived = archivedAll.slice(0, maxArchived).sort(byTeamOrder);
  const branches = entries.some((e) => e.branch);
  const goal = opts.goal.trim().split(/\r?\n/, 1)[0] ?? "";
  const out = [
    "# Team roster",
    "",
    "Kept by the orchestrator and rewritten whenever a session changes: do not edit it. Read it before you ask for someone new.",
    "",
    `**Goal:** ${goal.length > 300 ? `${goal.slice(0, 299)}…` : goal || "(none recorded)"}`,
    "",
    `Session dirs are under \`${opts.workspace}/\`. Names and ids both work with \`claude-wrapper tell\`.`,
    "",
    "## On the team now",
    "",
  ];
  if (live.length) {
    out.push(
      ...table(
        ["Name", "Session id", "Role", "Status", "Tasks done", "Cost", "Model", "Requested by", ...(branches ? ["Branch"] : [])],
        live.map((e) => [
          e.name,
          `\`${e.id}\``,
          e.label,
          STATUS_NOTE[e.status] ?? e.status,
          e.tasksTotal === null ? "-" : `${e.tasksDone}/${e.tasksTotal}`,
          `$${e.costUsd.toFixed(2)}`,
          e.model ?? "default",
          who(e.requestedBy),
          ...(branches ? [e.branch ?? "-"] : []),
        ]),
      ),
    );
  } else {
    out.push("Nobody: every session has finished.");
  }
  const idle = live.filter((e) => e.status === "idle");
  out.push(
    "",
    idle.length
      ? `**Idle, waiting for work:** ${idle.map((e) => `${e.name} (${e.label})`).join(", ")}. Give them work before you request someone new.`
      : "**Idle, waiting for work:** nobody right now.",
    "",
    "## Finished",
    "",
  );
  if (archived.length) {
    out.push(
      ...table(
        ["Name", "Session id", "Role", "Requested by", "Cost", "Where its work is", ...(branches ? ["Branch"] : [])],
        archived.map((e) => [
          e.name,
          `\`${e.id}\``,
          e.label,
          who(e.requestedBy),
          `$${e.costUsd.toFixed(2)}`,
          [`${e.dir}/tasks.md`, ...(e.produced ?? []).map((f) => `${e.dir}/${f}`)].map((p) => `\`${p}\``).join(", "),
          ...(branches ? [e.branch ?? "-"] : []),
        ]),
      ),
    );
    if (archivedAll.length > archived.length) out.push("", `…and ${archivedAll.length - archived.length} older finished sessions: \`claude-wrapper attach --list --all\`.`);
  } else {
    out.push("Nobody yet.");
  }
  out.push(
    "",
    "## How to give a teammate work",
    "",
    "```bash",
    "claude-wrapper tell <name or session id> - <<'EOF'",
    "<the work: the outcome wanted, the files involved, the check that proves it is done>",
    "EOF",
    "```",
    "",
    "This appends an `## Instructions from <your session id>` block to its instructions.md (under a lock). An idle",
    "teammate wakes at once, a busy one reads it when its turn ends, and you are told in your own",
    "instructions.md when it completes or fails. A finished teammate cannot take work: request a new one.",
    "",
  );
  return out.join("\n");
}

interface Memo {
  text?: string;
  liveIds?: string;
  /** The team record as of the last change of who is live (a new team changes that too). */
  team?: TeamRecord;
  /** Archived entries by id: an archive never changes, so each is read once. */
  archived: Map<string, RosterEntry>;
}

const memos = new Map<string, Memo>();

/** A session of the current team: created at or after its start (older ones are another team's). */
function ofTeam(id: string, team: TeamRecord | undefined): boolean {
  return Number(id.slice(id.lastIndexOf("-") + 1)) >= (Number(team?.id) || 0);
}

/** The current team's archived sessions, each read once. */
function archivedEntries(workspace: string, memo: Memo, labels: (persona: string) => string): RosterEntry[] {
  const out: RosterEntry[] = [];
  const seen = new Set<string>();
  for (const e of listEntries(workspace)) {
    if (e.kind !== "archive" || !ofTeam(e.id, memo.team)) continue;
    seen.add(e.id);
    let entry = memo.archived.get(e.id);
    if (!entry) {
      const dir = join(workspace, e.dir);
      const rec = readSession(dir, e.id, e.persona);
      if (!rec) continue;
      entry = { ...rosterEntry(rec, labels(e.persona), true), produced: producedFiles(dir) };
      memo.archived.set(e.id, entry);
    }
    out.push(entry);
  }
  for (const id of memo.archived.keys()) if (!seen.has(id)) memo.archived.delete(id);
  return out;
}

/**
 * Rewrite ROSTER.md from the live sessions' records (the orchestrator's, as of this pass) and the
 * team's archives. Only a change of text is written, so a pass that changed nothing a teammate
 * would read costs one render and no write. Answers whether it wrote.
 */
export function writeRoster(workspace: string, live: SessionRecord[], personas: Map<string, Pick<Persona, "name" | "label" | "model">>): boolean {
  let memo = memos.get(workspace);
  if (!memo) {
    memo = { archived: new Map(), text: readText(rosterPath(workspace), 4 * 1024 * 1024) };
    memos.set(workspace, memo);
  }
  const liveIds = live.map((r) => r.id).sort().join(" ");
  // Archives appear only when a live session goes away, a team only with new sessions: look then.
  const rescan = liveIds !== memo.liveIds;
  if (rescan) {
    memo.team = readTeam(workspace);
    memo.liveIds = liveIds;
  }
  const { team } = memo;
  const labels = (persona: string) => personas.get(persona)?.label ?? persona;
  const entries = live
    .filter((r) => !r.request && ofTeam(r.id, team))
    .map((r) => {
      const p = personas.get(r.persona);
      return rosterEntry(r, labels(r.persona), false, p ? (modelFor(p, team) ?? null) : null);
    });
  const archived = rescan ? archivedEntries(workspace, memo, labels) : [...memo.archived.values()];
  entries.push(...archived);
  const text = renderRoster(entries, { workspace, goal: team?.goal ?? "" });
  if (text === memo.text) return false;
  writeFileAtomic(rosterPath(workspace), text);
  memo.text = text;
  return true;
}

/** The roster from what is on disk (`team start`, before any orchestrator pass). */
export function writeRosterFromDisk(workspace: string, personas: Map<string, Pick<Persona, "name" | "label" | "model">>): boolean {
  return writeRoster(workspace, readAllSessions(workspace).map((s) => s.rec), personas);
}
