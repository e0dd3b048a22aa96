import { join } from "node:path";
import { readJson, writeJsonAtomic } from "../base/fsx";

/**
 * `<workspace>/.team.json`: what `team start` decided for the team, read by the supervisor, the
 * views and the agents' persona text. Written atomically by `team start` (and by the supervisor
 * for `finishedAt`); every field but `goal` and `startedAt` is optional so older files still read.
 */
export interface TeamRecord {
  /** The team's id: the ms of its start (sessions created at or after it belong to it). */
  id: string;
  goal: string;
  startedAt: string;
  /** Agent CLI and model for the whole team (`team start --agent/--model`), below persona files. */
  agent?: string;
  model?: string;
  /** Model per persona (`team start --model-for intern=haiku`). */
  modelFor?: Record<string, string>;
  /** Git isolation: the integration branch, whether sessions get worktrees, the verify command. */
  branch?: string;
  worktrees?: boolean;
  verify?: string;
  /** The commit the integration branch was forked from, and what HEAD was then (a branch name or "detached HEAD <sha>"). */
  baseCommit?: string;
  baseRef?: string;
  /** Set when the manager's session completed (the team is done). */
  finishedAt?: string;
}

export const TEAM_FILE = ".team.json";

export function teamFilePath(workspace: string): string {
  return join(workspace, TEAM_FILE);
}

/** The team record, or undefined when there is none (or it is not an object with a goal). */
export function readTeam(workspace: string): TeamRecord | undefined {
  const raw = readJson<Partial<TeamRecord>>(teamFilePath(workspace));
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return undefined;
  const startedAt = typeof raw.startedAt === "string" ? raw.startedAt : "";
  const id = typeof raw.id === "string" && raw.id ? raw.id : String(Date.parse(startedAt) || 0);
  return { ...raw, id, goal: typeof raw.goal === "string" ? raw.goal : "", startedAt } as TeamRecord;
}

export function writeTeam(workspace: string, team: TeamRecord): void {
  writeJsonAtomic(teamFilePath(workspace), team);
}

/** The team goal, recorded by `team start` ("" when none). */
export function readGoal(workspace: string): string {
  return readTeam(workspace)?.goal ?? "";
}

/** The ms a session id (`<persona>-<ms>`) was made at; NaN for anything else. */
export function sessionMs(id: string): number {
  return Number(id.slice(id.lastIndexOf("-") + 1));
}

/**
 * Whether session `id` belongs to `team`: made at or after the team's start. Ids carry their
 * creation ms, so a listing tells the teams apart without opening a file. No team record (a
 * workspace from before teams were recorded): every session belongs.
 */
export function inTeam(team: Pick<TeamRecord, "id"> | undefined, id: string): boolean {
  const start = Number(team?.id);
  return !start || !(sessionMs(id) < start);
}

export const MANAGER_PERSONA = "engineering-manager";

/**
 * Whether `team` is done: the supervisor recorded its end, or its manager's session is archived
 * (the manager completes last: it waits for the others). No team record: never.
 */
export function teamDone(team: TeamRecord | undefined, sessions: Array<{ id: string; persona: string; archived: boolean }>): boolean {
  if (!team) return false;
  if (team.finishedAt) return true;
  const managers = sessions.filter((s) => s.persona === MANAGER_PERSONA && inTeam(team, s.id));
  return managers.length > 0 && managers.every((s) => s.archived);
}
