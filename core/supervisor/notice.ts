/**
 * Who is told that a session ended, and what they are told. Kept apart from how a notice is
 * delivered (notify.ts: the locked append and its idempotency).
 */
import { join } from "node:path";
import { lstatOrUndefined } from "../base/fsx";
import { mergedNotice, validSessionGit } from "../git/integrate";
import { MAX_TEXT_BYTES, readText } from "../base/read-text";
import { instructionsPath } from "../workspace/instructions";
import { archiveDirName, parseSessionId } from "../workspace/paths";
import { producedFiles } from "../workspace/roster";
import type { SessionRecord } from "../workspace/session";
import { teamManager } from "../workspace/store";
import { readTeam } from "../workspace/team-file";

export type Outcome = "completed" | "failed";

/** Why a recipient is told: it asked for the session, gave it work, or manages the team. */
export type Reason = "requested" | "assigned" | "manager";

export interface Recipient {
  id: string;
  reason: Reason;
}

const HEADER_RE = /^##\s+Instructions from\s+(\S+)/gim;

/** Session ids that wrote an `## Instructions from <id>` block into this instructions.md text. */
export function assignersIn(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(HEADER_RE)) if (parseSessionId(m[1]!)) out.add(m[1]!);
  return [...out];
}

function isLive(workspace: string, id: string): boolean {
  return !!lstatOrUndefined(join(workspace, id, "session.json"))?.isFile();
}

/**
 * Who hears how a session ended: whoever requested it, every live session that gave it work
 * through its instructions.md (`tell` from an agent), and, when nobody requested it (the
 * architect, engineers laid out by `team start`), the team's manager. Each once; never itself;
 * only sessions that are still there to read it.
 */
export function noticeRecipients(workspace: string, rec: SessionRecord): Recipient[] {
  const out: Recipient[] = [];
  const add = (id: string | null | undefined, reason: Reason) => {
    if (!id || id === rec.id || out.some((r) => r.id === id) || !parseSessionId(id) || !isLive(workspace, id)) return;
    out.push({ id, reason });
  };
  add(rec.requestedBy, "requested");
  const text = readText(instructionsPath(join(workspace, rec.id)), MAX_TEXT_BYTES) ?? "";
  for (const id of assignersIn(text)) add(id, "assigned");
  if (!rec.requestedBy) add(teamManager(workspace), "manager");
  return out;
}

/** The words that identify one notice in the recipient's file (a repeat after a crash is skipped). */
export function noticeMark(rec: SessionRecord, outcome: Outcome): string {
  return `Teammate ${rec.id} (${rec.name}) ${outcome}`;
}

const WHY: Record<Reason, string> = {
  requested: "You requested it.",
  assigned: "You gave it work.",
  manager: "Nobody requested it, so you are told as the team's manager.",
};

/**
 * The notice's text. It names where the work is: the archive (tasks.md with its notes, and any
 * design or notes file it wrote), and, for a session with its own branch, the merge that brought
 * its work into the team branch (commit, files), so the reader can check it without searching.
 */
export function noticeText(workspace: string, rec: SessionRecord, outcome: Outcome, to: Recipient): string {
  const mark = noticeMark(rec, outcome);
  if (outcome === "failed") {
    return `${mark}: ${rec.error ?? "it stopped working"}. ${WHY[to.reason]} Its files are in ${join(workspace, rec.id)}. Decide whether to retry with a new request or do it another way.`;
  }
  const archive = join(workspace, archiveDirName(rec.id));
  const notes = producedFiles(join(workspace, rec.id)).map((f) => join(archive, f));
  const git = validSessionGit(rec.git);
  const merged = git?.merge === "merged" ? mergedNotice(git, git.integration ?? readTeam(workspace)?.branch ?? "the team branch") : undefined;
  const lines = [
    `${mark} all its tasks. ${WHY[to.reason]}`,
    `- Its task list, with its notes on what it did: ${join(archive, "tasks.md")}`,
    ...(notes.length ? [`- What it wrote up: ${notes.join(", ")}`] : []),
    ...(merged ? [merged] : []),
    `Its files (instructions, logs) are all in ${archive}. Check the result and carry on with your tasks.`,
  ];
  return lines.join("\n");
}
