import { join } from "node:path";
import { lstatOrUndefined, readTextCapped } from "../base/fsx";
import { appendInstructions, instructionsPath } from "../workspace/instructions";
import type { SessionRecord } from "../workspace/session";
import { archiveDirName } from "../workspace/paths";

export type Outcome = "completed" | "failed";

/**
 * Tell whoever asked for a session how it ended: a block appended to the requester's
 * instructions.md (locked, atomic), which wakes it if it is idle. Idempotent: the block names
 * the session and outcome, and is not written twice, so a pass repeating this after a crash
 * tells once.
 */
export async function notifyRequester(workspace: string, rec: SessionRecord, outcome: Outcome): Promise<void> {
  const to = rec.requestedBy;
  if (!to || to === rec.id) return;
  const dir = join(workspace, to);
  if (!lstatOrUndefined(join(dir, "session.json"))?.isFile()) return; // archived or gone: nobody to wake
  const mark = `Teammate ${rec.id} (${rec.name}) ${outcome}`;
  if ((readTextCapped(instructionsPath(dir), Number.MAX_SAFE_INTEGER) ?? "").includes(mark)) return;
  const body =
    outcome === "completed"
      ? `${mark} all its tasks. Its files (tasks.md, notes, logs) are in ${join(workspace, archiveDirName(rec.id))}. Check the result and carry on with your tasks.`
      : `${mark}: ${rec.error ?? "it stopped working"}. Its files are in ${join(workspace, rec.id)}. Decide whether to retry with a new request or do it another way.`;
  await appendInstructions(dir, "orchestrator", body);
}
