import { join } from "node:path";
import { lstatOrUndefined } from "../base/fsx";
import { type SessionRecord, readSession } from "./session";
import { listEntries } from "./paths";
import { MANAGER_PERSONA } from "./team-file";

export interface SessionView {
  rec: SessionRecord;
  dir: string;
  archived: boolean;
}

/**
 * Every session the workspace holds (archived ones with `includeArchived`), read fresh from
 * disk. Dirs without a session.json are still being set up and are not listed.
 */
export function readAllSessions(workspace: string, includeArchived = false): SessionView[] {
  const out: SessionView[] = [];
  for (const e of listEntries(workspace)) {
    if (e.kind === "request") continue;
    if (e.kind === "archive" && !includeArchived) continue;
    const dir = join(workspace, e.dir);
    const rec = readSession(dir, e.id, e.persona);
    if (rec) out.push({ rec, dir, archived: e.kind === "archive" });
  }
  return out.sort((a, b) => a.rec.id.localeCompare(b.rec.id));
}

export { MANAGER_PERSONA } from "./team-file";

/**
 * The team's engineering manager: the newest engineering-manager session that is not archived
 * (set up far enough to have a session.json). Null when the team has none.
 */
export function teamManager(workspace: string): string | null {
  let best: string | null = null;
  let bestMs = -1;
  for (const e of listEntries(workspace)) {
    if (e.kind !== "session" || e.persona !== MANAGER_PERSONA) continue;
    const ms = Number(e.id.slice(MANAGER_PERSONA.length + 1));
    if (ms <= bestMs) continue;
    if (!lstatOrUndefined(join(workspace, e.dir, "session.json"))?.isFile()) continue;
    best = e.id;
    bestMs = ms;
  }
  return best;
}
