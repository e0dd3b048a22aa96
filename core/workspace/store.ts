import { join } from "node:path";
import { type SessionRecord, readSession } from "./session";
import { listEntries } from "./paths";

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
