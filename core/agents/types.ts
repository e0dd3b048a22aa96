import type { Persona } from "../workspace/personas";

/** Everything a runner needs to start one turn of an agent in a session. */
export interface AgentTurn {
  sessionId: string;
  sessionDir: string;
  workspace: string;
  projectRoot: string;
  /** Where the agent runs (the project root, or the session's git worktree). */
  cwd: string;
  persona: Persona;
  /**
   * The agent CLI's conversation id, fixed for the session's life. For a runner that chooses it
   * (`choosesConversationId`) a UUID we made; otherwise the id the CLI reported on its first run,
   * or null when it never reported one (then the turn is a fresh start).
   */
  agentSessionId: string | null;
  /** First run of the conversation (else it is resumed). */
  first: boolean;
  /** What the agent is told this turn. */
  prompt: string;
  /** Path of persona-instructions.md (system prompt, or a file the CLI reads). */
  personaInstructionsPath: string;
  /** The model to use (persona, workspace override or run flag), if any. */
  model?: string;
  /** Only when the user passed --dangerously-skip-permissions to `orchestrate`. */
  skipPermissions: boolean;
}

/** Whether an agent CLI can run, asked without spending anything. */
export interface LoginState {
  ok: boolean;
  /** One line: what was found (e.g. "logged in (claude.ai)", "Not logged in"). */
  detail: string;
  /** What the user runs to fix it. */
  fix?: string;
}

/**
 * One agent CLI (Claude Code, Codex, Gemini, the built-in simulator) behind one interface. A
 * runner only says how to start a turn, how to ask whether it can run, and how to read what it
 * wrote; the supervisor does the rest.
 */
export interface AgentRunner {
  name: string;
  /** What its output reports: dollars, or only tokens (then `track` says so). */
  reports: "usd" | "tokens";
  /** The CLI takes a conversation id we choose on the first run (else it is read from its output). */
  choosesConversationId: boolean;
  /** argv (never a shell string) for one headless turn; argv[0] is looked up on PATH. */
  argv(turn: AgentTurn): string[];
  /** Extra environment for the turn. */
  env?(turn: AgentTurn): Record<string, string>;
  /** The executable this runner needs, for a clear startup error when it is missing. */
  executable(): string | undefined;
  /** Can it run (logged in, key present)? Asked without spending; undefined when it cannot be told. */
  login?(env: Record<string, string | undefined>): Promise<LoginState | undefined>;
  /**
   * One line of its stdout (already parsed), as the Claude stream-json messages agentlog and
   * `logs` read (system/init, assistant, user, result). Absent: the output already is Claude's.
   */
  translate?(line: Record<string, any>): Record<string, any>[];
}
