import { EXIT, UserError } from "../base/errors";
import { type SessionRow, listRows, rowsFor } from "./listing";
import { listEntries } from "../workspace/paths";
import { LIVE_STATUSES } from "../workspace/session";
import { editDistance } from "../base/suggest";
import { MANAGER_PERSONA, type TeamRecord, inTeam, readTeam, sessionMs } from "../workspace/team-file";


/**
 * When several sessions answer to one name (an earlier team's `manager` is still on disk), the
 * one the user means: the current team's, then not archived, then not stopped, then the newest.
 */
function preferred(rows: SessionRow[], team: TeamRecord | undefined): SessionRow {
  const score = (r: SessionRow) => (inTeam(team, r.id) ? 4 : 0) + (r.archived ? 0 : 2) + (r.status === "stopped" ? 0 : 1);
  return rows.reduce((best, r) => {
    const d = score(r) - score(best);
    return d > 0 || (d === 0 && sessionMs(r.id) > sessionMs(best.id)) ? r : best;
  });
}

/** Up to `max` sessions whose name or id is near `query` (a substring either way, or a few edits). */
export function closestMatches(query: string, rows: SessionRow[], max = 5): SessionRow[] {
  const q = query.toLowerCase();
  const scored: Array<{ row: SessionRow; score: number }> = [];
  for (const row of rows) {
    let best = Number.POSITIVE_INFINITY;
    for (const key of [row.name.toLowerCase(), row.id.toLowerCase()]) {
      if (key.includes(q) || q.includes(key)) best = Math.min(best, 0.5);
      else {
        const d = editDistance(q, key);
        if (d <= Math.max(2, Math.floor(q.length / 3))) best = Math.min(best, d);
      }
    }
    if (best < Number.POSITIVE_INFINITY) scored.push({ row, score: best + (row.archived ? 0.1 : 0) });
  }
  return scored.sort((a, b) => a.score - b.score || (a.row.id < b.row.id ? -1 : 1)).slice(0, max).map((s) => s.row);
}

const isLive = (r: SessionRow) => !r.archived && LIVE_STATUSES.includes(r.status);

/**
 * The one session several rows sharing a name stand for: the live one, the current team's first
 * (an earlier team's finished, stopped or archived namesakes give way to it). Two live ones cannot be told apart by
 * name: a usage mistake (exit 2) listing them, never a guess.
 */
function chosen(rows: SessionRow[], what: string, team: TeamRecord | undefined): SessionRow {
  // The current team's sessions first (even archived): an earlier team's namesakes give way.
  const here = rows.filter((r) => inTeam(team, r.id));
  const pool = here.length ? here : rows;
  const live = pool.filter(isLive);
  if (live.length > 1) {
    throw new UserError(`${what} matches ${live.length} live sessions: ${describe(live.slice(0, 5))}${live.length > 5 ? ", …" : ""}; give the id`, EXIT.usage);
  }
  return live[0] ?? preferred(pool, team);
}

function describe(rows: SessionRow[]): string {
  return rows.map((r) => (r.name === r.id ? r.id : `${r.name} (${r.id}${r.archived ? ", archived" : ""})`)).join(", ");
}

/**
 * A session by id (also an archived one), by name, or by a unique prefix of either; without a
 * query, the engineering manager. No match is exit 3 with the closest ones; several matches (also
 * several live sessions sharing the name) is exit 2 (a usage mistake: give more of the id or
 * name) listing them. The rule every command that takes a session follows.
 */
export function findSession(workspace: string, query?: string): SessionRow {
  const q = query?.trim();
  if (!q) return defaultSession(workspace);

  // An exact id needs only its own session.json, not all of them.
  const exact = listEntries(workspace).filter((e) => e.kind !== "request" && (e.id === q || e.dir === q));
  const [hit] = rowsFor(workspace, exact);
  if (hit) return hit;

  const rows = listRows(workspace, { all: true });
  const named = rows.filter((r) => r.name === q);
  if (named.length) return chosen(named, `"${q}"`, readTeam(workspace));

  const prefixed = rows.filter((r) => r.id.startsWith(q) || r.name.startsWith(q));
  if (prefixed.length && prefixed.every((r) => r.name === prefixed[0]!.name)) return chosen(prefixed, `"${q}"`, readTeam(workspace));
  if (prefixed.length > 1) {
    throw new UserError(`"${q}" matches ${prefixed.length} sessions: ${describe(prefixed.slice(0, 5))}${prefixed.length > 5 ? ", …" : ""}; give more of the id or name`, EXIT.usage);
  }

  const near = closestMatches(q, rows);
  const hint = near.length
    ? `closest: ${describe(near)}`
    : rows.length
      ? `sessions: ${describe(rows.filter((r) => !r.archived).slice(0, 5))}`
      : "the workspace has no sessions";
  throw new UserError(`no session "${q}" in ${workspace}; ${hint} (see \`claude-wrapper attach --list --all\`)`, EXIT.notFound);
}

/** The engineering manager: the team's own one if there is a team, else the latest one. */
export function defaultSession(workspace: string): SessionRow {
  const managers = listRows(workspace, { all: true }).filter((r) => r.persona === MANAGER_PERSONA);
  if (!managers.length) {
    throw new UserError(`no engineering manager session in ${workspace}; name a session (see \`claude-wrapper attach --list\`) or start a team with \`claude-wrapper team start "<goal>"\``, EXIT.notFound);
  }
  return chosen(managers, "the default session (the engineering manager)", readTeam(workspace));
}
