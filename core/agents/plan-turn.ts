/**
 * What one run of a session's agent is: which CLI and model (chooseAgent), whether it continues
 * the conversation or starts a new one, under which id, and what it is told. Pure but for reading
 * instructions.md and the persona text, so the supervisor only carries it out.
 */
import { join } from "node:path";
import type { Persona } from "../workspace/personas";
import type { SessionRecord } from "../workspace/session";
import type { TeamRecord } from "../workspace/team-file";
import type { AgentLogSummary } from "./agentlog";
import { chooseAgent } from "./choose";
import { freshStartPrompt, turnPrompt } from "./turn";
import type { AgentRunner, AgentTurn } from "./types";

export interface ConversationPlan {
  /** The CLI's first run of this conversation (else it resumes it). */
  first: boolean;
  /** A new conversation although the session ran before: why (the prompt says so). */
  fresh?: string;
  /** The id to start (chosen) or resume (chosen or reported); null: the CLI will report one. */
  agentSessionId: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Continue the conversation when the CLI can: claude resumes any conversation it started;
 * gemini only one with a finished turn (after a failed first turn neither its id nor --resume
 * works); codex only a thread whose id it printed. Otherwise, and when the session changes CLI,
 * an honest fresh start under a new id.
 */
export function planConversation(
  runner: Pick<AgentRunner, "name" | "choosesConversationId" | "resumes">,
  rec: Pick<SessionRecord, "runs" | "agentSessionId" | "agent">,
  log: Pick<AgentLogSummary, "agentSessionId" | "finishedConversations">,
  newId: () => string = () => crypto.randomUUID(),
): ConversationPlan {
  const start = (fresh?: string): ConversationPlan => ({ first: true, fresh, agentSessionId: runner.choosesConversationId ? newId() : null });
  if (rec.runs === 0) {
    // A chosen id recorded by an interrupted start is kept: that start may have used it.
    return { first: true, agentSessionId: runner.choosesConversationId ? (rec.agentSessionId ?? newId()) : null };
  }
  // Sessions from before `agent` was recorded ran claude (or the simulator).
  const before = rec.agent ?? (runner.name === "sim" ? "sim" : "claude");
  if (before !== runner.name) return start(`this session now runs ${runner.name} instead of ${before}`);
  switch (runner.resumes) {
    case "any-run":
      return rec.agentSessionId ? { first: false, agentSessionId: rec.agentSessionId } : start(`no ${runner.name} conversation was recorded`);
    case "finished-turn":
      if (rec.agentSessionId && log.finishedConversations.includes(rec.agentSessionId)) return { first: false, agentSessionId: rec.agentSessionId };
      return start(`${runner.name} never finished a turn of it, and cannot resume such a conversation`);
    case "reported-id": {
      const id = log.agentSessionId;
      if (id && UUID.test(id)) return { first: false, agentSessionId: id };
      return start(`${runner.name} never reported its conversation id (its first run ended early)`);
    }
  }
}

export interface TurnPlan {
  runner: AgentRunner;
  turn: AgentTurn;
  /** What session.json records of this run. */
  fields: Pick<SessionRecord, "agent" | "model" | "agentSessionId">;
}

export interface PlanTurnInput {
  workspace: string;
  projectRoot: string;
  /** Where the agent runs (the project root, or the session's worktree). */
  cwd: string;
  /** The repository's shared git dir, when it runs in a worktree. */
  gitDir?: string;
  dir: string;
  rec: SessionRecord;
  persona: Persona;
  team?: TeamRecord;
  /** `orchestrate --agent`. */
  runFlag?: string;
  log: Pick<AgentLogSummary, "agentSessionId" | "finishedConversations">;
  instructionsPath: string;
  instructionsSize: number;
  instructionsOffset: number;
  skipPermissions: boolean;
}

export function planTurn(o: PlanTurnInput): TurnPlan {
  const choice = chooseAgent({ runFlag: o.runFlag, team: o.team, persona: o.persona });
  const plan = planConversation(choice.runner, o.rec, o.log);
  const prompt = plan.fresh
    ? freshStartPrompt(o.instructionsPath, o.instructionsSize, plan.fresh)
    : turnPrompt(o.instructionsPath, plan.first, o.instructionsOffset, o.instructionsSize);
  const turn: AgentTurn = {
    sessionId: o.rec.id,
    sessionDir: o.dir,
    workspace: o.workspace,
    projectRoot: o.projectRoot,
    cwd: o.cwd,
    ...(o.gitDir ? { gitDir: o.gitDir } : {}),
    persona: o.persona,
    agentSessionId: plan.agentSessionId,
    first: plan.first,
    prompt,
    personaInstructionsPath: join(o.dir, "persona-instructions.md"),
    model: choice.model,
    skipPermissions: o.skipPermissions,
  };
  return { runner: choice.runner, turn, fields: { agent: choice.runner.name, model: choice.model ?? null, agentSessionId: plan.agentSessionId } };
}
