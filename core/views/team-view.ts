/**
 * Human renderings of the team (`attach --list`, `team status`, `track`): plain text, coloured
 * only through the Paint passed in, so pipes and NO_COLOR get the same layout without escapes.
 */
import { reportsTokensOnly } from "../agents/index";
import type { Paint } from "../cli/output";
import type { SessionRow } from "./listing";
import { formatBudget, formatCost, formatDuration, formatTime, formatTokens, plural, table } from "../base/format";
import type { StatusRow, TeamSnapshot } from "./status";

function statusText(row: SessionRow, p: Paint): string {
  const text = row.archived ? `${row.status} (archived)` : row.status;
  return p.status(row.status, text);
}

/** `attach --list`: a heading per persona, then its sessions. */
export function renderList(rows: SessionRow[], p: Paint): string[] {
  const out: string[] = [];
  const groups = new Map<string, SessionRow[]>();
  for (const r of rows) groups.set(r.persona, [...(groups.get(r.persona) ?? []), r]);
  // A MERGE column only in a team whose sessions have branches.
  const git = rows.some((r) => r.merge);
  for (const [persona, members] of groups) {
    if (out.length) out.push("");
    const label = members[0]!.label;
    out.push(p.bold(label === persona ? persona : `${label} (${persona})`));
    out.push(
      ...table(
        ["NAME", "SESSION ID", "STATUS", "STARTED", "PID", ...(git ? ["MERGE"] : [])],
        members.map((r) => [r.name, r.id, statusText(r, p), formatTime(r.startedAt), r.pid ? String(r.pid) : "-", ...(git ? [r.merge ?? "-"] : [])]),
        { indent: "  ", paint: p },
      ),
    );
  }
  return out;
}

/** What `attach` says on stderr before the shell starts: where you are and what is there. */
export function renderAttachBanner(row: SessionRow, tasks: { done: number; total: number }, files: string[], p: Paint): string[] {
  const state = [statusText(row, p), row.pid ? `PID ${row.pid}` : "", `tasks ${tasks.done}/${tasks.total} done`].filter(Boolean);
  return [
    `${p.bold(`Attached to ${row.name}`)} ${row.id} — ${state.join(", ")}`,
    ...(row.worktree ? [`  worktree ${row.worktree} (branch ${row.branch}, ${row.merge})`, `  session dir ${row.dir} ($CLAUDE_WRAPPER_SESSION_DIR)`] : [`  ${row.dir}`]),
    `  ${plural(files.length, "file")}: ${files.join("  ")}`,
    p.dim("  Exit the shell (exit or Ctrl-D) to come back."),
  ];
}

function countsLine(s: TeamSnapshot, p: Paint): string {
  const parts = Object.entries(s.counts).map(([status, n]) => p.status(status as SessionRow["status"], `${status} ${n}`));
  return parts.length ? parts.join(" · ") : "no sessions";
}

function orchestratorLine(s: TeamSnapshot, p: Paint): string {
  return s.orchestrator
    ? `orchestrator ${p.green("running")} (PID ${s.orchestrator.pid}, since ${formatTime(s.orchestrator.startedAt, true)})`
    : `orchestrator ${p.dim("not running")}`;
}

/** Codex and Gemini report tokens, no price: their cost is said in tokens, never as $0. */
function costCell(r: SessionRow): string {
  return reportsTokensOnly(r.agent) ? `${formatTokens(r.inputTokens + r.outputTokens)} tokens` : formatCost(r.costUsd);
}

function totalsLine(s: TeamSnapshot): string {
  const t = s.totals;
  const tokenOnly = s.sessions.filter((r) => reportsTokensOnly(r.agent)).length;
  const cost = `${formatCost(t.costUsd)}${tokenOnly ? ` (+ ${plural(tokenOnly, "session")} reporting tokens only)` : ""}`;
  return `tasks ${t.tasksDone}/${t.tasksTotal} · cost ${cost} · tokens ${formatTokens(t.inputTokens)} in / ${formatTokens(t.outputTokens)} out`;
}

function sessionTable(rows: StatusRow[], p: Paint, activity: boolean): string[] {
  // A MERGE column only in a team whose sessions have branches.
  const git = rows.some((r) => r.merge);
  const header = ["WHO", "NAME", "STATUS", "TASKS", ...(git ? ["MERGE"] : []), "COST", "RUNTIME", ...(activity ? ["LAST ACTIVITY"] : []), "MODEL", "PID", "SESSION ID"];
  return table(
    header,
    rows.map((r) => [
      r.label,
      r.name,
      statusText(r, p),
      `${r.tasksDone}/${r.tasksTotal}`,
      ...(git ? [r.merge ?? "-"] : []),
      costCell(r),
      formatDuration(r.runtimeMs),
      ...(activity ? [formatTime(r.lastActivityAt, true)] : []),
      r.model ?? "default",
      r.pid ? String(r.pid) : "-",
      r.id,
    ]),
    { right: git ? [3, 5, 6] : [3, 4, 5], paint: p },
  );
}

function archivedLine(s: TeamSnapshot): string[] {
  const archived = s.sessions.filter((r) => r.archived);
  const out: string[] = [];
  if (archived.length) {
    const cost = archived.reduce((sum, r) => sum + r.costUsd, 0);
    out.push(`${plural(archived.length, "archived session")} (completed, ${formatCost(cost)}); \`attach --list --all\` lists them`);
  }
  if (s.earlier) out.push(`${plural(s.earlier, "session")} of earlier teams not shown; \`--all\` includes them`);
  return out.length ? ["", ...out] : [];
}

/** The goal on one line, cut to fit. */
function goalLine(s: TeamSnapshot, p: Paint, width = 100): string[] {
  if (!s.team) return [];
  const first = s.team.goal.trim().split("\n", 1)[0] ?? "";
  const goal = first.length > width ? `${first.slice(0, width - 1)}…` : first;
  const budget = s.team.budgetUsd !== null ? ` · budget ${formatBudget(s.team.budgetUsd)} (${formatCost(s.totals.costUsd)} spent)` : "";
  return [`${p.dim("goal")} ${goal}${budget}`];
}

/** When the manager's work is archived the team is done: say so, with what it cost and took. */
function doneLine(s: TeamSnapshot, p: Paint): string[] {
  if (!s.team?.done) return [];
  const took = s.team.elapsedMs !== null ? ` in ${formatDuration(s.team.elapsedMs)}` : "";
  return [`${p.green("✔ done")}${took}, ${formatCost(s.totals.costUsd)} in total; \`team start\` begins a new team`];
}

/** What a person must act on: each failed session's reason, each session whose last step keeps failing. */
function problemLines(rows: StatusRow[], p: Paint): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.archived) continue;
    const who = r.name === r.id ? r.id : `${r.name} (${r.id})`;
    if (r.status === "failed" && r.error) out.push(p.red(`✖ ${who} failed: ${r.error}`));
    if (r.fault) out.push(p.yellow(`⚠ ${who}: ${r.fault} (retrying)`));
    if (r.tasksProblem && !r.archived) out.push(p.yellow(`⚠ ${who}: ${r.tasksProblem}`));
  }
  return out.length ? ["", ...out] : [];
}

/** `team status`: the whole team at a glance. */
export function renderStatus(s: TeamSnapshot, p: Paint): string[] {
  const live = s.sessions.filter((r) => !r.archived);
  const done = doneLine(s, p);
  return [
    `${p.bold("Team")} ${s.workspace}`,
    ...goalLine(s, p),
    orchestratorLine(s, p),
    `${plural(s.totals.sessions, "session")} (${s.totals.running} running): ${countsLine(s, p)}`,
    totalsLine(s),
    ...(done.length ? ["", ...done] : []),
    ...(live.length ? ["", ...sessionTable(live, p, false)] : []),
    ...problemLines(live, p),
    ...archivedLine(s),
  ];
}

/** `track`: a screenful, redrawn on workspace events; times are as of the last event. */
export function renderDashboard(s: TeamSnapshot, p: Paint, size?: { rows: number; columns: number }): string[] {
  const live = s.sessions.filter((r) => !r.archived);
  const done = doneLine(s, p);
  const head = [
    `${p.bold("claude-wrapper track")} ${s.workspace} ${p.dim(`as of ${formatTime(s.at, true)}`)}`,
    ...goalLine(s, p),
    `${orchestratorLine(s, p)} · ${s.totals.running} running · ${countsLine(s, p)}`,
    totalsLine(s),
    "",
    ...(done.length && live.length ? [...done, ""] : []),
  ];
  let body = live.length ? [...sessionTable(live, p, true), ...problemLines(live, p)] : done.length ? done : ["no sessions yet: `claude-wrapper team start \"<goal>\"`"];
  const foot = [...archivedLine(s), ...(size ? ["", p.dim("q or Ctrl-C to quit")] : [])];
  if (size) {
    const room = Math.max(2, size.rows - head.length - foot.length);
    if (body.length > room) body = [...body.slice(0, room - 1), p.dim(`… ${body.length - room + 1} more`)];
  }
  return [...head, ...body, ...foot];
}
