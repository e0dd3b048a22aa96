/**
 * The files every session starts with, besides instructions.md and session.json: its first task
 * (tasks.md), what it has been handed so far (tracker.json) and its persona text
 * (persona-instructions.md). One layout for a team's members (`team start`) and for teammates
 * made from requests; each caller writes session.json last, so a dir without it is still being
 * set up and no agent starts on half a layout.
 */
import { join } from "node:path";
import { fileIdentity, writeFileAtomic } from "../base/fsx";
import { type Persona, type RenderContext, renderPersona } from "./personas";
import { writeTracker } from "./session";
import { taskBlock } from "./tasks";

export interface FirstTask {
  title: string;
  /** A line under the task (where the rest of the request is). */
  note?: string;
}

/** Lay out the session's files; answers the task progress session.json records (1 pending task). */
export function layOutSessionFiles(
  dir: string,
  id: string,
  task: FirstTask,
  persona: Persona,
  render: Omit<RenderContext, "sessionId" | "sessionDir">,
): { tasksDone: number; tasksTotal: number; tasksKey: string } {
  const tasks = join(dir, "tasks.md");
  writeFileAtomic(tasks, `# Tasks for ${id}\n\n${taskBlock(task.title, "pending", task.note ?? "")}`);
  writeTracker(dir, { instructionsOffset: 0 });
  writeFileAtomic(join(dir, "persona-instructions.md"), renderPersona(persona, { ...render, sessionId: id, sessionDir: dir }));
  // Counted as the orchestrator would count it (see SessionRecord.tasksKey).
  return { tasksDone: 0, tasksTotal: 1, tasksKey: fileIdentity(tasks) };
}
