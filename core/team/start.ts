import { plural } from "../views/format";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { UserError } from "../base/errors";
import { fileIdentity, writeFileAtomic } from "../base/fsx";
import { writeTeam } from "../workspace/team-file";
import { type IsolationChoice, checkIsolation, prepareIsolation } from "./isolation";
import { writeFirstInstructions } from "../workspace/instructions";
import { type Persona, loadPersonas, renderPersona } from "../workspace/personas";
import { type SessionRecord, newSessionRecord, writeSession, writeTracker } from "../workspace/session";
import { readAllSessions } from "../workspace/store";
import { taskBlock } from "../workspace/tasks";
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

export function validateGoal(goal: string | undefined): string {
  const g = (goal ?? "").trim();
  if (!g) throw new UserError('the goal is empty; say what the team should build: team start "<goal>"');
  if (g.length > MAX_GOAL_CHARS) throw new UserError(`the goal is ${g.length} characters; keep it under ${MAX_GOAL_CHARS}`);
  if (g.includes("\0")) throw new UserError("the goal contains a NUL byte");
  return g;
}

/** Sessions that keep a team alive: anything neither archived nor stopped. */
export function liveTeam(workspace: string): SessionRecord[] {
  return readAllSessions(workspace)
    .map((s) => s.rec)
    .filter((r) => r.status !== "stopped");
}

export interface Member {
  persona: string;
  name: string;
  firstTask: string;
  instructions: string;
}

export interface CreatedSession {
  id: string;
  persona: string;
  name: string;
  dir: string;
}

/**
 * Lay out one session dir. session.json is written last: until it exists the orchestrator treats
 * the dir as still being set up, so it never starts an agent on half a layout.
 */
export function createSession(
  workspace: string,
  m: Member & { from: string; requestedBy: string | null; goal: string },
  personas: Map<string, Persona> = loadPersonas(workspace),
): CreatedSession {
  const persona = personas.get(m.persona);
  if (!persona) throw new UserError(`unknown persona ${m.persona}`);
  const { id, path } = allocateSessionDir(workspace, m.persona);
  writeFirstInstructions(path, m.from, m.instructions);
  const title = taskTitle(m.firstTask);
  const more = title !== m.firstTask.trim() ? "The whole of it is in instructions.md." : "";
  writeFileAtomic(join(path, "tasks.md"), `# Tasks for ${id}\n\n${taskBlock(title, "pending", more)}`);
  writeTracker(path, { instructionsOffset: 0 });
  writeFileAtomic(
    join(path, "persona-instructions.md"),
    renderPersona(persona, {
      sessionId: id,
      sessionDir: path,
      workspace,
      projectRoot: projectRoot(workspace),
      name: m.name,
      goal: m.goal,
      requestedBy: m.requestedBy,
      personas,
    }),
  );
  // One pending task, counted as the orchestrator would count it (see SessionRecord.tasksKey).
  const tasks = { tasksDone: 0, tasksTotal: 1, tasksKey: fileIdentity(join(path, "tasks.md")) };
  writeSession(path, newSessionRecord({ id, persona: m.persona, name: m.name, requestedBy: m.requestedBy, ...tasks }));
  return { id, persona: m.persona, name: m.name, dir: path };
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
      instructions: `Design the architecture for this goal, and write it down for the team:\n\n${goal}`,
    },
  ];
  for (let i = 1; i <= engineers; i++) {
    members.push({
      persona: "software-engineer",
      name: `engineer-${i}`,
      firstTask: "Take your first assignment from the engineering manager",
      instructions: `You are on the team for this goal:\n\n${goal}\n\nRead the code, then wait for your assignment from the engineering manager in this file.`,
    });
  }
  for (let i = 1; i <= interns; i++) {
    members.push({
      persona: "intern",
      name: `intern-${i}`,
      firstTask: "Take your first assignment",
      instructions: `You are on the team for this goal:\n\n${goal}\n\nWait for a small assignment from the manager or an engineer in this file.`,
    });
  }
  return members;
}

/** `team start`: refuse a second live team, then lay out every member. */
export async function startTeam(
  workspace: string,
  goal: string,
  engineers: number,
  interns: number,
  isolation: IsolationChoice = { worktrees: true },
): Promise<CreatedSession[]> {
  checkIsolation(workspace, isolation);
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
    const live = liveTeam(workspace);
    if (live.length > 0) {
      throw new UserError(
        `${workspace} already holds a live team (${plural(live.length, "session")}, e.g. ${live[0]!.id}); stop it with \`claude-wrapper team stop\` or pass another --workspace`,
        4,
      );
    }
    const now = new Date();
    const id = String(now.getTime());
    const git = await prepareIsolation(workspace, id, isolation);
    writeTeam(workspace, { id, goal, startedAt: now.toISOString(), ...git });
    const personas = loadPersonas(workspace);
    return teamMembers(goal, engineers, interns).map((m) =>
      createSession(workspace, { ...m, from: "user", requestedBy: null, goal }, personas),
    );
  } finally {
    await release();
  }
}
