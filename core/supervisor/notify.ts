import { join } from "node:path";
import { AppendError } from "../base/fsx";
import { appendInstructionsOnce } from "../workspace/instructions";
import type { SessionRecord } from "../workspace/session";
import { type Outcome, type Recipient, noticeMark, noticeRecipients, noticeText } from "./notice";

export type { Outcome } from "./notice";

/**
 * Tell everyone who should hear how a session ended (see noticeRecipients: its requester, the
 * sessions that gave it work, else the manager): a block appended to each one's instructions.md,
 * which wakes it if it is idle. Answers what a person must do for recipients whose
 * instructions.md cannot be appended to safely (left as it is; the session is not held back).
 */
export async function notifyRequester(workspace: string, rec: SessionRecord, outcome: Outcome): Promise<string | undefined> {
  const problems: string[] = [];
  for (const to of noticeRecipients(workspace, rec)) {
    const problem = await deliver(workspace, rec, outcome, to);
    if (problem) problems.push(problem);
  }
  return problems.length ? problems.join("; ") : undefined;
}

/**
 * One notice to one recipient. Idempotent (appendInstructionsOnce, keyed by the session and
 * outcome), so a pass repeating this after a crash tells once.
 */
async function deliver(workspace: string, rec: SessionRecord, outcome: Outcome, to: Recipient): Promise<string | undefined> {
  const dir = join(workspace, to.id);
  const mark = noticeMark(rec, outcome);
  try {
    await appendInstructionsOnce(dir, "orchestrator", noticeText(workspace, rec, outcome, to), mark);
  } catch (err) {
    if (!(err instanceof AppendError)) throw err;
    return `${rec.id}: could not tell ${to.id} that it ${outcome}: ${err.message}; then tell it yourself: claude-wrapper tell ${to.id} "${mark}"`;
  }
  return undefined;
}
