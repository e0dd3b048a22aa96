/**
 * Requests: anyone asks for a teammate with a dir `<persona>-request-<name>/instructions.md`.
 * Here: judge one (bad: a reason, naming what to fix; still being written: when to look again;
 * ready), and turn it into a session in crash-safe steps. What the requester wrote is never lost:
 * a request that cannot be read is left where it is, and every file in the request dir travels
 * into the session.
 */
import { accessSync, constants, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { timings } from "../base/config";
import { crashPoint } from "../base/crash";
import { lstatOrUndefined, writeFileAtomic } from "../base/fsx";
import { MAX_TEXT_BYTES, describeReadError, readText, readTextOrWhy, sizeText } from "../base/read-text";
import { firstLine, instructionsAuthor, instructionsBlock } from "./instructions";
import { layOutSessionFiles } from "./layout";
import { type Persona, type RenderContext, personasDir } from "./personas";
import { LIVE_STATUSES, type SessionRecord, newSessionRecord, readSession, writeSession } from "./session";
import { teamManager } from "./store";
import { REQUEST_NAME_RE, allocateSessionDir, parseSessionId, projectRoot } from "./paths";

/**
 * A request's instructions.md is ready once two looks at least this far apart (by our clock) saw
 * it unchanged (inode, size, mtime, ctime). Two looks, not one look at the file's mtime: an mtime
 * is as coarse as the kernel's tick (4-10 ms, so "30 ms old" could be 20) and can be anything
 * (`cp -p`, `touch -d`, a clock ahead), while two looks on our own clock bound the quiet time
 * from below. The window is the longest pause between two writes of one request still taken as
 * one: a shell's `mkdir -p d; echo a > d/f; echo b >> d/f` pauses a millisecond or two between
 * its writes, one `cat` of a long text writes its chunks microseconds apart; 20 ms covers both
 * with room, and it is most of the reaction time (request → agent started ≈ the window + ~10 ms).
 * A writer pausing longer writes aside and renames (`CLAUDE_WRAPPER_SETTLE_MS` widens the window);
 * one that does not is claimed with what it wrote so far, and its late write is rejected (the
 * name is taken) and left where it is, with the `tell` that delivers it.
 */
export function settleMs(): number {
  return timings().settleMs;
}
/** An empty instructions.md is given this long to gain content before it is rejected. */
export const EMPTY_GRACE_MS = 3000;
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** Where the request dir is moved to while it is turned into a session (inside that session). */
export const CLAIMED_REQUEST = ".request";
/** Where a request's files go whose names the session itself uses (tasks.md, session.json, …). */
export const REQUEST_FILES = "request";
/** Names in a session dir that a request's files never take. */
const SESSION_NAMES = new Set(["session.json", "instructions.md", "tasks.md", "tracker.json", "persona-instructions.md", "agent.jsonl", "agent.stderr.log", CLAIMED_REQUEST, REQUEST_FILES]);

export type RequestState =
  | { kind: "invalid"; reason: string }
  /** `unwritten`: its instructions.md is missing or empty yet (nothing of it to settle). */
  | { kind: "waiting"; recheckAt: number; unwritten?: true }
  | { kind: "ready" };

/** A name as it may be printed: JSON-quoted, so a newline or an escape code in it shows as text. */
export function quoted(name: string): string {
  return JSON.stringify(name);
}

/** Names of live sessions (the sessions that `tell <name>` must tell apart), with their ids. */
export function liveNames(recs: Iterable<SessionRecord>): Map<string, string> {
  const names = new Map<string, string>();
  for (const r of recs) if (!r.request && LIVE_STATUSES.includes(r.status)) names.set(r.name, r.id);
  return names;
}

/**
 * The first look at each request's instructions.md that found it as it is now, by file path.
 * Kept by whoever looks again (the orchestrator's observer), which also forgets the requests gone.
 */
export type SettleLooks = Map<string, { key: string; since: number }>;

function settled(looks: SettleLooks, file: string, st: import("node:fs").Stats, now: number): RequestState {
  const key = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  const seen = looks.get(file);
  if (!seen || seen.key !== key) {
    looks.set(file, { key, since: now });
    return { kind: "waiting", recheckAt: now + settleMs() };
  }
  if (now - seen.since < settleMs()) return { kind: "waiting", recheckAt: seen.since + settleMs() };
  looks.delete(file);
  return { kind: "ready" };
}

/**
 * Judge a request dir: bad (a reason that names what to fix), not yet written (when to look
 * again), or ready to claim. `live` (see liveNames): a request named like a live session is
 * refused, so names stay unambiguous (a late second write to a claimed request's dir must not
 * become a second session with half the text).
 */
export function inspectRequest(
  workspace: string,
  entry: { dir: string; persona: string; name: string; symlink: boolean },
  personas: Map<string, Persona>,
  now: number,
  looks: SettleLooks,
  live?: ReadonlyMap<string, string>,
): RequestState {
  if (entry.symlink) return { kind: "invalid", reason: "the request dir is a symlink; requests must be real dirs inside the workspace" };
  if (!personas.has(entry.persona)) {
    // A file of that name exists but was not loaded: it has an error, and that is the news.
    const file = join(personasDir(workspace), `${entry.persona}.md`);
    if (lstatOrUndefined(file)) return { kind: "invalid", reason: `persona ${quoted(entry.persona)} is not usable: ${file} has an error (\`claude-wrapper doctor\` says which)` };
    return { kind: "invalid", reason: `unknown persona ${quoted(entry.persona)} (known: ${[...personas.keys()].join(", ")})` };
  }
  if (!REQUEST_NAME_RE.test(entry.name)) {
    return { kind: "invalid", reason: `bad request name ${quoted(entry.name)}: use lowercase letters, digits and dashes (1-63 chars)` };
  }
  // From here on the dir name is known to be plain text.
  const dir = join(workspace, entry.dir);
  try {
    // Claiming moves the dir and the files in it.
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "waiting", recheckAt: Number.POSITIVE_INFINITY };
    return { kind: "invalid", reason: `the request dir ${entry.dir} cannot be read and written (${code === "EACCES" || code === "EPERM" ? "permission denied" : code}); make it so, e.g. chmod u+rwx ${entry.dir}` };
  }
  const file = join(dir, "instructions.md");
  const shown = `${entry.dir}/instructions.md`;
  let st: import("node:fs").Stats;
  try {
    st = lstatSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "waiting", recheckAt: Number.POSITIVE_INFINITY, unwritten: true };
    return { kind: "invalid", reason: `${shown} cannot be looked at (${code}); fix the request dir's permissions` };
  }
  if (st.isSymbolicLink()) return { kind: "invalid", reason: `${shown} is a symlink; write a regular file` };
  if (!st.isFile()) return { kind: "invalid", reason: `${shown} is not a regular file` };
  if (st.size > MAX_REQUEST_BYTES) return { kind: "invalid", reason: `${shown} is larger than ${sizeText(MAX_REQUEST_BYTES)}; put the details in another file next to it and point to it` };
  // A probe of one byte: the whole is read when claimed.
  const probe = readTextOrWhy(file, 0);
  if (typeof probe !== "string") {
    if (probe.failure === "missing") return { kind: "waiting", recheckAt: Number.POSITIVE_INFINITY, unwritten: true };
    return { kind: "invalid", reason: `${shown} ${describeReadError(probe)}` };
  }
  if (st.size === 0) {
    const age = now - st.mtimeMs;
    if (age < EMPTY_GRACE_MS) return { kind: "waiting", recheckAt: st.mtimeMs + EMPTY_GRACE_MS, unwritten: true };
    return { kind: "invalid", reason: `${shown} is empty; say what the teammate should do` };
  }
  const namesake = live?.get(entry.name);
  if (namesake) {
    return {
      kind: "invalid",
      reason: `a live session is already named ${quoted(entry.name)} (${namesake}): to give it more work, \`claude-wrapper tell ${namesake} "…"\`; for another teammate, use another name`,
    };
  }
  return settled(looks, file, st, now);
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
 * Step 3: lay out the session from the claimed request (its instructions.md copied whole into
 * the session's, its other files moved in beside it), then commit by clearing `request` in
 * session.json (the point after which it is an ordinary pending session), then drop the copied
 * instructions.md. Every step is repeatable, so a crash anywhere in here is finished by the next
 * pass. A request that cannot be read whole is put back where it was, the reservation dropped,
 * and the reason thrown: nothing of it is lost, and the next pass rejects it with that reason.
 */
export function finishSession(
  workspace: string,
  sessionDir: string,
  rec: SessionRecord,
  persona: Persona,
  personas: Map<string, Persona>,
  goal: string,
  /** Where it will work, when it gets a git worktree (its persona text names it). */
  extra: Pick<RenderContext, "workplace"> = {},
): SessionRecord {
  const claimed = join(sessionDir, CLAIMED_REQUEST);
  const target = join(sessionDir, "instructions.md");
  let text: string;
  if (lstatOrUndefined(target)) {
    text = readText(target, MAX_TEXT_BYTES) ?? "";
  } else {
    const raw = readTextOrWhy(join(claimed, "instructions.md"), MAX_REQUEST_BYTES, { whole: true });
    if (typeof raw !== "string") {
      const why = `${rec.request}/instructions.md ${describeReadError(raw, MAX_REQUEST_BYTES)}`;
      throw new Error(`${why}; ${returnRequest(workspace, sessionDir, rec)}`);
    }
    text = /^\s*##\s+Instructions from\b/i.test(raw) ? `${raw.trimEnd()}\n\n` : instructionsBlock("requester", raw);
    writeFileAtomic(target, text);
  }
  moveRequestFiles(sessionDir);
  const requestedBy = requesterOf(text);
  const summary = firstLine(text) || `Work requested by ${requestedBy ?? "a teammate"}`;
  const tasks = layOutSessionFiles(sessionDir, rec.id, { title: summary, note: "See instructions.md for the full request." }, persona, {
    workspace,
    projectRoot: projectRoot(workspace),
    name: rec.name,
    goal,
    requestedBy,
    personas,
    manager: teamManager(workspace),
    ...extra,
  });
  crashPoint("claim:laid-out");
  const done: SessionRecord = { ...rec, request: null, requestedBy, ...tasks };
  writeSession(sessionDir, done);
  // Its text is in the session's instructions.md now; anything else left (a name taken in both
  // places) stays where it is.
  try {
    unlinkSync(join(claimed, "instructions.md"));
    rmdirSync(claimed);
  } catch {}
  return done;
}

/**
 * Move a claimed request's files (all but instructions.md, which is copied) into the session dir
 * beside instructions.md, where the requester's "see spec.md" still points. A name the session
 * uses itself, a dot file, or one already there goes to `request/` instead; nothing is overwritten.
 */
function moveRequestFiles(sessionDir: string): void {
  const from = join(sessionDir, CLAIMED_REQUEST);
  let names: string[];
  try {
    names = readdirSync(from);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === "instructions.md") continue;
    let dest = join(sessionDir, name);
    if (SESSION_NAMES.has(name) || name.startsWith(".") || lstatOrUndefined(dest)) {
      mkdirSync(join(sessionDir, REQUEST_FILES), { recursive: true });
      dest = join(sessionDir, REQUEST_FILES, name);
      if (lstatOrUndefined(dest)) continue;
    }
    renameSync(join(from, name), dest);
  }
}

/** Undo steps 1 and 2 of a claim: the request back where it was, the reserved session gone. */
function returnRequest(workspace: string, sessionDir: string, rec: SessionRecord): string {
  const home = join(workspace, rec.request ?? "");
  if (!rec.request || lstatOrUndefined(home)) return `it stays in ${join(sessionDir, CLAIMED_REQUEST)} (its place in the workspace is taken)`;
  renameSync(join(sessionDir, CLAIMED_REQUEST), home);
  rmSync(sessionDir, { recursive: true, force: true });
  return "the request is left as it was";
}

/** A reserved session whose request vanished before the claim: nothing was started, drop it. */
export function dropReservation(sessionDir: string, id: string, persona: string): void {
  const rec = readSession(sessionDir, id, persona);
  if (rec?.request && !lstatOrUndefined(join(sessionDir, CLAIMED_REQUEST))) {
    rmSync(sessionDir, { recursive: true, force: true });
  }
}
