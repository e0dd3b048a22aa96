import { plural } from "../base/format";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { UserError } from "../base/errors";
import { inTeam, readTeam, teamDone, writeTeam } from "../workspace/team-file";
import { isOurProcess } from "../processes/proc";
import { checkIsolation, prepareIsolation, workplaces } from "./isolation";
import { writeFirstInstructions } from "../workspace/instructions";
import { MODEL_RE, type Persona, type Teammate, loadPersonas, modelFor } from "../workspace/personas";
import { layOutSessionFiles } from "../workspace/layout";
import { writeRosterFromDisk } from "../workspace/roster";
import { type SessionRecord, isLiveStatus, newSessionRecord, writeSession } from "../workspace/session";
import { MANAGER_PERSONA, readAllSessions, teamManager } from "../workspace/store";
import { allocateSessionDir, ensureWorkspace, projectRoot } from "../workspace/paths";

export const MAX_TEAM_MEMBERS = 20;
const MAX_GOAL_CHARS = 20_000;

/** A count flag: a whole number from 0 to the cap, or one clear line saying what is wrong. */
export function parseCount(flag: string, raw: string | undefined, fallback = 0): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(String(raw).trim())) {
    throw new UserError(`--${flag} must be a whole number from 0 to ${MAX_TEAM_MEMBERS}, got "${raw}"`);
  }
  const n = Number(raw);
  if (n > MAX_TEAM_MEMBERS) throw new UserError(`--${flag} ${n} is too many; at most ${MAX_TEAM_MEMBERS}`);
  return n;
}

/**
 * `--model-for intern=haiku,engineer=sonnet` (repeatable): the model per persona, named by persona
 * or label. A mistake is one line naming it; nothing is created.
 */
export function parseModelFor(values: string[], personas: Map<string, Persona>): Record<string, string> {
  const out: Record<string, string> = {};
  const byName = new Map<string, string>();
  for (const p of personas.values()) {
    byName.set(p.name, p.name);
    if (!byName.has(p.label)) byName.set(p.label, p.name);
  }
  const known = [...personas.values()].map((p) => (p.label === p.name ? p.name : `${p.name} (${p.label})`)).join(", ");
  for (const item of values.flatMap((v) => v.split(","))) {
    const pair = item.trim();
    if (!pair) continue;
    const eq = pair.indexOf("=");
    if (eq <= 0 || eq === pair.length - 1) throw new UserError(`--model-for takes persona=model (e.g. intern=haiku), got "${pair}"`);
    const who = pair.slice(0, eq).trim();
    const model = pair.slice(eq + 1).trim();
    const persona = byName.get(who);
    if (!persona) throw new UserError(`--model-for: unknown persona "${who}" (known: ${known})`);
    if (!MODEL_RE.test(model)) throw new UserError(`--model-for: "${model}" is not a model name (e.g. opus, sonnet, haiku, claude-sonnet-4-5)`);
    out[persona] = model;
  }
  return out;
}

export function validateGoal(goal: string | undefined): string {
  const g = (goal ?? "").trim();
  if (!g) throw new UserError('the goal is empty; say what the team should build: team start "<goal>"');
  if (g.length > MAX_GOAL_CHARS) throw new UserError(`the goal is ${g.length} characters; keep it under ${MAX_GOAL_CHARS}`);
  if (g.includes("\0")) throw new UserError("the goal contains a NUL byte");
  return g;
}

/**
 * Where the workspace's team stands. `live` while a session of the current team may still run
 * (or any agent of any team still does); `paused` when what is left of the current team is
 * stopped or failed (only a person continues it: `team resume`, `retry`); else `none`: no team,
 * or the current one is done (its manager's work archived), and what it left behind does not
 * hold a new team back.
 */
export function teamState(workspace: string): { state: "live" | "paused" | "none"; sessions: SessionRecord[] } {
  const team = readTeam(workspace);
  const all = readAllSessions(workspace, true);
  const done = teamDone(team, all.map((s) => ({ id: s.rec.id, persona: s.rec.persona, archived: s.archived })));
  const current = all.filter((s) => !s.archived && inTeam(team, s.rec.id) && !done).map((s) => s.rec);
  const running = all.filter((s) => !s.archived && isOurProcess(s.rec.pid, s.rec.pidStartTime)).map((s) => s.rec);
  const live = [...new Set([...current.filter((r) => isLiveStatus(r.status)), ...running])];
  if (live.length) return { state: "live", sessions: live };
  const paused = current.filter((r) => r.status === "stopped" || r.status === "failed");
  return paused.length ? { state: "paused", sessions: paused } : { state: "none", sessions: [] };
}

export interface Member {
  persona: string;
  name: string;
  firstTask: string;
  instructions: string;
  /** What it does first, as its teammates are told ("waiting for its first assignment from you"). */
  note?: string;
}

export interface CreatedSession {
  id: string;
  persona: string;
  name: string;
  dir: string;
  /** The model it will run on (undefined: the agent CLI's default). */
  model?: string;
}

type MemberSpec = Member & { from: string; requestedBy: string | null; goal: string };

/** Who else is on the team as a session is laid out: its manager and who `team start` made with it. */
export interface TeamContext {
  manager?: string | null;
  teammates?: Teammate[];
  /** Where a session of a persona works (its git worktree, or the project root when undefined). */
  workplace?: ReturnType<typeof workplaces>;
}

/**
 * Lay out one session dir. session.json is written last: until it exists the orchestrator treats
 * the dir as still being set up, so it never starts an agent on half a layout.
 */
export function createSession(workspace: string, m: MemberSpec, personas: Map<string, Persona> = loadPersonas(workspace), team: TeamContext = {}): CreatedSession {
  if (!personas.get(m.persona)) throw new UserError(`unknown persona ${m.persona}`);
  const { id, path } = allocateSessionDir(workspace, m.persona);
  layOutSession(workspace, { id, dir: path }, m, personas, { ...team, manager: team.manager ?? teamManager(workspace), workplace: team.workplace ?? workplaces(workspace) });
  return { id, persona: m.persona, name: m.name, dir: path };
}

/** The files of an allocated session dir: instructions, tasks, tracker, persona text, then session.json. */
function layOutSession(workspace: string, at: { id: string; dir: string }, m: MemberSpec, personas: Map<string, Persona>, team: TeamContext): void {
  const persona = personas.get(m.persona);
  if (!persona) throw new UserError(`unknown persona ${m.persona}`);
  const { id, dir: path } = at;
  writeFirstInstructions(path, m.from, m.instructions);
  const title = taskTitle(m.firstTask);
  const note = title !== m.firstTask.trim() ? "The whole of it is in instructions.md." : "";
  const tasks = layOutSessionFiles(path, id, { title, note }, persona, {
    workspace,
    projectRoot: projectRoot(workspace),
    name: m.name,
    goal: m.goal,
    requestedBy: m.requestedBy,
    personas,
    manager: team.manager,
    teammates: team.teammates,
    workplace: team.workplace?.(id, persona),
  });
  writeSession(path, newSessionRecord({ id, persona: m.persona, name: m.name, requestedBy: m.requestedBy, ...tasks }));
}

/** A task heading is one line: the goal's first line, shortened if it runs long. */
export function taskTitle(text: string, max = 200): string {
  const line = text.trim().split(/\r?\n/, 1)[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1).trimEnd()}…` : line;
}

export function teamMembers(goal: string, engineers: number, interns: number): Member[] {
  const members: Member[] = [
    { persona: "engineering-manager", name: "manager", firstTask: goal, instructions: goal },
    {
      persona: "solutions-architect",
      name: "architect",
      firstTask: "Design the architecture for the team goal",
      instructions: `Design the architecture for this goal, and write it down for the team in design.md in your session dir:\n\n${goal}`,
      note: "designs the architecture and writes it to design.md in its dir; the manager is told when it is done",
    },
  ];
  for (let i = 1; i <= engineers; i++) {
    members.push({
      persona: "software-engineer",
      name: `engineer-${i}`,
      firstTask: "Take your first assignment from the engineering manager",
      instructions: `You are on the team for this goal:\n\n${goal}\n\nRead the code, then wait for your assignment from the engineering manager in this file.`,
      note: "waiting for its first assignment from the manager",
    });
  }
  for (let i = 1; i <= interns; i++) {
    members.push({
      persona: "intern",
      name: `intern-${i}`,
      firstTask: "Take your first assignment",
      instructions: `You are on the team for this goal:\n\n${goal}\n\nWait for a small assignment from the manager or an engineer in this file.`,
      note: "waiting for a small, well-fenced assignment",
    });
  }
  return members;
}

export interface StartOptions {
  /** Model per persona (`--model-for intern=haiku`), recorded in .team.json. */
  modelFor?: Record<string, string>;
  /** Agent CLI and model for the whole team (`--agent/--model`); persona files still win. */
  agent?: string;
  model?: string;
  /** Start although the workspace holds a paused team (it stays on disk). */
  fresh?: boolean;
  /** In a git project, a worktree and branch per agent that edits (default), and the merge check. */
  worktrees?: boolean;
  verify?: string;
}

/** `team start`: refuse a second live team, then lay out every member. */
export async function startTeam(workspace: string, goal: string, engineers: number, interns: number, opts: StartOptions = {}): Promise<CreatedSession[]> {
  checkIsolation(workspace, { worktrees: opts.worktrees ?? true, verify: opts.verify });
  ensureWorkspace(workspace);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(workspace, {
      lockfilePath: join(workspace, ".team.lock"),
      realpath: false,
      retries: { retries: 20, minTimeout: 20, maxTimeout: 200 },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    throw new UserError(`another \`team start\` is laying out a team in ${workspace}; wait for it, then check \`claude-wrapper team status\``, 4);
  }
  try {
    const { state, sessions } = teamState(workspace);
    if (state === "live") {
      throw new UserError(
        `${workspace} already holds a live team (${plural(sessions.length, "session")}, e.g. ${sessions[0]!.id}); stop it with \`claude-wrapper team stop\` or pass another --workspace`,
        4,
      );
    }
    if (state === "paused" && !opts.fresh) {
      throw new UserError(
        `the team in ${workspace} is paused (${plural(sessions.length, "session")} stopped or failed): \`claude-wrapper team resume\` continues it; \`claude-wrapper team start --new "<goal>"\` starts a fresh team beside it`,
        4,
      );
    }
    const now = new Date();
    const perPersona = opts.modelFor && Object.keys(opts.modelFor).length ? opts.modelFor : undefined;
    const id = String(now.getTime());
    const git = await prepareIsolation(workspace, id, { worktrees: opts.worktrees ?? true, verify: opts.verify });
    const team = {
      id,
      goal,
      startedAt: now.toISOString(),
      ...(opts.agent ? { agent: opts.agent } : {}),
      ...(opts.model ? { model: opts.model } : {}),
      ...(perPersona ? { modelFor: perPersona } : {}),
      ...git,
    };
    writeTeam(workspace, team);
    const personas = loadPersonas(workspace);
    const members = teamMembers(goal, engineers, interns);
    // Every dir first, so each member's persona text can name all the others (the manager is
    // told whom it can assign work to). A dir without session.json is not started yet.
    const dirs = members.map((m) => allocateSessionDir(workspace, m.persona));
    const teammates: Teammate[] = members.map((m, i) => ({ id: dirs[i]!.id, name: m.name, persona: m.persona, dir: dirs[i]!.path, note: m.note }));
    const manager = teammates.find((t) => t.persona === MANAGER_PERSONA)?.id ?? null;
    const workplace = workplaces(workspace, team);
    const created = members.map((m, i) => {
      const at = { id: dirs[i]!.id, dir: dirs[i]!.path };
      layOutSession(workspace, at, { ...m, from: "user", requestedBy: null, goal }, personas, { manager, teammates, workplace });
      return { id: at.id, persona: m.persona, name: m.name, dir: at.dir, model: modelFor(personas.get(m.persona)!, team) };
    });
    writeRosterFromDisk(workspace, personas);
    return created;
  } finally {
    await release();
  }
}
