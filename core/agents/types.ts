import type { Persona } from "../workspace/personas";

/** Everything a runner needs to start one turn of an agent in a session. */
export interface AgentTurn {
  sessionId: string;
  sessionDir: string;
  workspace: string;
  projectRoot: string;
  persona: Persona;
  /** The agent CLI's conversation id (a UUID), fixed for the session's life. */
  agentSessionId: string;
  /** First run of the conversation (else it is resumed). */
  first: boolean;
  /** What the agent is told this turn. */
  prompt: string;
  /** Path of persona-instructions.md, appended to the agent's system prompt. */
  personaInstructionsPath: string;
  /** Only when the user passed --dangerously-skip-permissions to `orchestrate`. */
  skipPermissions: boolean;
}

/**
 * One agent CLI (Claude Code, the built-in simulator, later Codex or Gemini). A runner only
 * says how to start a turn and how to read what it wrote; the orchestrator does the rest.
 */
export interface AgentRunner {
  name: string;
  /** argv (never a shell string) for one headless turn; argv[0] is looked up on PATH. */
  argv(turn: AgentTurn): string[];
  /** Extra environment for the turn. */
  env?(turn: AgentTurn): Record<string, string>;
  /** The executable this runner needs, for a clear startup error when it is missing. */
  executable(): string | undefined;
}
