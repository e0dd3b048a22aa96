import { join } from "node:path";
import { AppendError, lstatOrUndefined } from "../base/fsx";
import { appendInstructionsOnce } from "../workspace/instructions";
import type { SessionRecord } from "../workspace/session";
import { archiveDirName } from "../workspace/paths";

export type Outcome = "completed" | "failed";

/**
 * Tell whoever asked for a session how it ended: a block appended to the requester's
 * instructions.md, which wakes it if it is idle. Idempotent (appendInstructionsOnce, keyed by the
 * session and outcome), so a pass repeating this after a crash tells once. An instructions.md
 * that cannot be appended to safely (a symlink, not a regular file, not readable and writable) is
 * left as it is: the answer is then what a person must do (say it; the session is not held back).
 */
export async function notifyRequester(workspace: string, rec: SessionRecord, outcome: Outcome): Promise<string | undefined> {
  const to = rec.requestedBy;
  if (!to || to === rec.id) return;
  const dir = join(workspace, to);
  if (!lstatOrUndefined(join(dir, "session.json"))?.isFile()) return; // archived or gone: nobody to wake
  const mark = `Teammate ${rec.id} (${rec.name}) ${outcome}`;
  const body =
    outcome === "completed"
      ? `${mark} all its tasks. Its files (tasks.md, notes, logs) are in ${join(workspace, archiveDirName(rec.id))}. Check the result and carry on with your tasks.`
      : `${mark}: ${rec.error ?? "it stopped working"}. Its files are in ${join(workspace, rec.id)}. Decide whether to retry with a new request or do it another way.`;
  try {
    await appendInstructionsOnce(dir, "orchestrator", body, mark);
  } catch (err) {
    if (!(err instanceof AppendError)) throw err;
    return `${rec.id}: could not tell ${to} that it ${outcome}: ${err.message}; then tell it yourself: claude-wrapper tell ${to} "${mark}"`;
  }
}
