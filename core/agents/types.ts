import type { Persona } from "../workspace/personas";
import type { LogDialect } from "./dialect";

/** Everything a runner needs to start one turn of an agent in a session. */
export interface AgentTurn {
  sessionId: string;
  sessionDir: string;
  workspace: string;
  projectRoot: string;
  /** Where the agent runs (the project root, or the session's git worktree). */
  cwd: string;
  /**
   * Outside `cwd`, where its work must be written too: a worktree's commits land in the
   * repository's shared git dir (a sandboxing CLI must be told it may write there).
   */
  gitDir?: string;
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
  /** The model chosen for this session (see chooseAgent); none: the CLI's default. */
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

/** Where a login probe looks: the environment the agents get, and the dirs a CLI reads. */
export interface LoginProbe {
  env: Record<string, string | undefined>;
  /** The project root (Gemini reads `.env` files from there upward). */
  cwd?: string;
  /** Seconds a probe command may take before it counts as "cannot tell". */
  timeoutMs?: number;
}

/**
 * One agent CLI (Claude Code, Codex, Gemini, the built-in simulator) behind one interface. A
 * runner only says how to start a turn, how to ask whether it can run, and how to read what it
 * wrote; the supervisor does the rest.
 */
export interface AgentRunner extends LogDialect {
  name: string;
  /** What its output reports: dollars, or only tokens (then `track` says so). */
  reports: "usd" | "tokens";
  /** The CLI takes a conversation id we choose on the first run (else it is read from its output). */
  choosesConversationId: boolean;
  /**
   * What a later run may resume: `any-run` (claude: the conversation exists once a run started,
   * even a failed one), `finished-turn` (gemini: a first turn that failed leaves nothing to
   * resume), `reported-id` (codex: only a conversation whose id it printed). Otherwise the run is
   * an honest fresh start with a new conversation and the whole instructions.md.
   */
  resumes: "any-run" | "finished-turn" | "reported-id";
  /** argv (never a shell string) for one headless turn; argv[0] is looked up on PATH. */
  argv(turn: AgentTurn): string[];
  /** Extra environment for the turn. */
  env?(turn: AgentTurn): Record<string, string>;
  /** The executable this runner needs, for a clear startup error when it is missing. */
  executable(): string | undefined;
  /** How to install it, for that error (`npm install -g …`). */
  install?: string;
  /** Can it run (logged in, key present)? Asked without spending; undefined when it cannot be told. */
  login?(probe: LoginProbe): Promise<LoginState | undefined>;
}
