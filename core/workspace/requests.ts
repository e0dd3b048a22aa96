import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { crashPoint } from "../base/crash";
import { fileIdentity, MAX_TEXT_BYTES, lstatOrUndefined, readTextCapped, writeFileAtomic } from "../base/fsx";
import { firstLine, instructionsAuthor, instructionsBlock } from "./instructions";
import { type Persona, personasDir, renderPersona } from "./personas";
import { type SessionRecord, newSessionRecord, readSession, writeSession, writeTracker } from "./session";
import { teamManager } from "./store";
import { taskBlock } from "./tasks";
import { REQUEST_NAME_RE, allocateSessionDir, parseSessionId, projectRoot } from "./paths";

/** A request's instructions.md counts as written once it has not changed for this long. */
export const SETTLE_MS = 30;
/** An empty instructions.md is given this long to gain content before it is rejected. */
export const EMPTY_GRACE_MS = 3000;
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** Where the request dir is moved to while it is turned into a session (inside that session). */
export const CLAIMED_REQUEST = ".request";

export type RequestState =
  | { kind: "invalid"; reason: string }
  | { kind: "waiting"; recheckAt: number }
  | { kind: "ready" };

/** Judge a request dir: bad (reason), not yet written (when to look again), or ready to claim. */
export function inspectRequest(
  workspace: string,
  entry: { dir: string; persona: string; name: string; symlink: boolean },
  personas: Map<string, Persona>,
  now: number,
): RequestState {
  if (entry.symlink) return { kind: "invalid", reason: "the request dir is a symlink; requests must be real dirs inside the workspace" };
  if (!personas.has(entry.persona)) {
    // A file of that name exists but was not loaded: it has an error, and that is the news.
    const file = join(personasDir(workspace), `${entry.persona}.md`);
    if (lstatOrUndefined(file)) return { kind: "invalid", reason: `persona "${entry.persona}" is not usable: ${file} has an error (\`claude-wrapper doctor\` says which)` };
    return { kind: "invalid", reason: `unknown persona "${entry.persona}" (known: ${[...personas.keys()].join(", ")})` };
  }
  if (!REQUEST_NAME_RE.test(entry.name)) {
    return { kind: "invalid", reason: `bad request name "${entry.name}": use lowercase letters, digits and dashes (1-63 chars)` };
  }
  const file = join(workspace, entry.dir, "instructions.md");
  const st = lstatOrUndefined(file);
  if (!st) return { kind: "waiting", recheckAt: Number.POSITIVE_INFINITY };
  if (st.isSymbolicLink()) return { kind: "invalid", reason: "instructions.md is a symlink; write a regular file" };
  if (!st.isFile()) return { kind: "invalid", reason: "instructions.md is not a regular file" };
  if (st.size > MAX_REQUEST_BYTES) return { kind: "invalid", reason: `instructions.md is larger than ${MAX_REQUEST_BYTES / 1024} KB` };
  const age = now - st.mtimeMs;
  if (st.size === 0) {
    if (age < EMPTY_GRACE_MS) return { kind: "waiting", recheckAt: st.mtimeMs + EMPTY_GRACE_MS };
    return { kind: "invalid", reason: "instructions.md is empty; say what the teammate should do" };
  }
  if (age < SETTLE_MS) return { kind: "waiting", recheckAt: st.mtimeMs + SETTLE_MS };
  return { kind: "ready" };
}

/**
 * Step 1 of a claim: a fresh session dir whose session.json names the request. From here on a
 * restarted orchestrator finds the half-claimed request through that record and finishes it
 * instead of claiming it again.
 */
export function reserveSession(workspace: string, persona: string, name: string, requestDir: string): string {
  const { id, path } = allocateSessionDir(workspace, persona);
  try {
    writeSession(path, newSessionRecord({ id, persona, name, request: requestDir }));
  } catch (err) {
    // A full disk: leave no empty dir behind (the next try would make another).
    rmSync(path, { recursive: true, force: true });
    throw err;
  }
  return id;
}

/**
 * Step 2: move the request into the session dir. rename is atomic, so the request is gone from
 * the workspace exactly when it is ours. Answers false when the request vanished before we got it.
 */
export function takeRequest(workspace: string, sessionDir: string, requestDir: string): boolean {
  const target = join(sessionDir, CLAIMED_REQUEST);
  if (lstatOrUndefined(target)) return true;
  try {
    renameSync(join(workspace, requestDir), target);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** The requester named by the first `## Instructions from <id>` header, when it is a session id. */
export function requesterOf(text: string): string | null {
  const who = instructionsAuthor(text);
  return who && parseSessionId(who) ? who : null;
}

/**
 * Step 3: lay out the session from the claimed request, then commit by clearing `request` in
 * session.json (the point after which it is an ordinary pending session), then drop the copy.
 * Every step is repeatable, so a crash anywhere in here is finished by the next pass.
 */
export function finishSession(
  workspace: string,
  sessionDir: string,
  rec: SessionRecord,
  persona: Persona,
  personas: Map<string, Persona>,
  goal: string,
): SessionRecord {
  const claimed = join(sessionDir, CLAIMED_REQUEST, "instructions.md");
  const target = join(sessionDir, "instructions.md");
  let text = readTextCapped(target, MAX_TEXT_BYTES);
  if (text === undefined) {
    const raw = readTextCapped(claimed, MAX_REQUEST_BYTES) ?? "";
    text = /^\s*##\s+Instructions from\b/i.test(raw) ? `${raw.trimEnd()}\n\n` : instructionsBlock("requester", raw);
    writeFileAtomic(target, text);
  }
  const requestedBy = requesterOf(text);
  const summary = firstLine(text) || `Work requested by ${requestedBy ?? "a teammate"}`;
  writeFileAtomic(
    join(sessionDir, "tasks.md"),
    `# Tasks for ${rec.id}\n\n${taskBlock(summary, "pending", "See instructions.md for the full request.")}`,
  );
  writeTracker(sessionDir, { instructionsOffset: 0 });
  writeFileAtomic(
    join(sessionDir, "persona-instructions.md"),
    renderPersona(persona, {
      sessionId: rec.id,
      sessionDir,
      workspace,
      projectRoot: projectRoot(workspace),
      name: rec.name,
      goal,
      requestedBy,
      personas,
      manager: teamManager(workspace),
    }),
  );
  crashPoint("claim:laid-out");
  const tasks = { tasksDone: 0, tasksTotal: 1, tasksKey: fileIdentity(join(sessionDir, "tasks.md")) };
  const done: SessionRecord = { ...rec, request: null, requestedBy, ...tasks };
  writeSession(sessionDir, done);
  rmSync(join(sessionDir, CLAIMED_REQUEST), { recursive: true, force: true });
  return done;
}

/** A reserved session whose request vanished before the claim: nothing was started, drop it. */
export function dropReservation(sessionDir: string, id: string, persona: string): void {
  const rec = readSession(sessionDir, id, persona);
  if (rec?.request && !lstatOrUndefined(join(sessionDir, CLAIMED_REQUEST))) {
    rmSync(sessionDir, { recursive: true, force: true });
  }
}
