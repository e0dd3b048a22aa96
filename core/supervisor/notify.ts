import { join } from "node:path";
import { readTextCapped } from "../base/fsx";
import { appendInstructions, instructionsPath } from "../workspace/instructions";
import type { SessionRecord } from "../workspace/session";
import { type Outcome, type Recipient, noticeMark, noticeRecipients, noticeText } from "./notice";

export type { Outcome } from "./notice";

/**
 * Tell everyone who should hear how a session ended (see noticeRecipients: its requester, the
 * sessions that gave it work, else the manager): a block appended to each one's instructions.md
 * (locked, atomic), which wakes it if it is idle.
 */
export async function notifyRequester(workspace: string, rec: SessionRecord, outcome: Outcome): Promise<void> {
  for (const to of noticeRecipients(workspace, rec)) await deliver(workspace, rec, outcome, to);
}

/**
 * One notice to one recipient. Idempotent: the block names the session and outcome, and is not
 * written twice, so a pass repeating this after a crash tells once.
 */
async function deliver(workspace: string, rec: SessionRecord, outcome: Outcome, to: Recipient): Promise<void> {
  const dir = join(workspace, to.id);
  const mark = noticeMark(rec, outcome);
  if ((readTextCapped(instructionsPath(dir), Number.MAX_SAFE_INTEGER) ?? "").includes(mark)) return;
  await appendInstructions(dir, "orchestrator", noticeText(workspace, rec, outcome, to));
}
