import { EXIT, UserError, errorMessage } from "../base/errors";
import { AppendError } from "../base/fsx";
import { instructionsPath, appendInstructions } from "../workspace/instructions";
import type { SessionRow } from "../views/listing";
import { findSession } from "../views/lookup";
import { liveOrchestrator } from "../workspace/owner";
import { parseSessionId, requireWorkspace } from "../workspace/paths";

/** A `tell` longer than this is almost certainly a mistake (a file pasted by accident). */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface TellResult {
  session: SessionRow;
  file: string;
  /** Bytes appended to instructions.md. */
  bytes: number;
  /** When the agent will read it, in words. */
  delivery: string;
  /** Who the block says it is from: `user`, or the session id of the agent that ran `tell`. */
  from: string;
}

export function validateMessage(message: string | undefined): string {
  const m = (message ?? "").trim();
  if (!m) throw new UserError('the message is empty; say what the agent should do: tell <id|name> "<message>"', EXIT.usage);
  if (m.includes("\0")) throw new UserError("the message contains a NUL byte", EXIT.usage);
  const bytes = Buffer.byteLength(m);
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new UserError(`the message is ${Math.ceil(bytes / 1024)} KB; keep it under ${MAX_MESSAGE_BYTES / 1024} KB (point the agent at a file instead)`, EXIT.usage);
  }
  return m;
}

function deliveryNote(workspace: string, row: SessionRow): string {
  if (!liveOrchestrator(workspace)) return "no orchestrator is running: it is read when `claude-wrapper orchestrate` runs";
  switch (row.status) {
    case "active":
      return "the agent is working: it gets this when its current turn ends";
    case "idle":
      return "the agent is idle: the orchestrator wakes it now";
    case "pending":
    case "queued":
      return "the agent has not started yet: it reads this on its first turn";
    case "restarting":
      return "the agent is restarting: it reads this when it runs again";
    case "failed":
      return `the agent failed${row.error ? ` (${row.error})` : ""}: it reads this only if it is started again`;
    case "stopped":
      return "the agent is stopped: it reads this when the team runs again";
    default:
      return "appended";
  }
}

/**
 * Who a `tell` is from: the session whose agent runs it (its shell carries
 * CLAUDE_WRAPPER_SESSION_ID), else the user. Only a well-formed session id is taken: the header
 * it goes into is one line that other tools parse.
 */
export function tellSender(env: Record<string, string | undefined> = process.env): string {
  const id = env.CLAUDE_WRAPPER_SESSION_ID?.trim();
  return id && parseSessionId(id) ? id : "user";
}

/**
 * `tell`: append `## Instructions from <sender> (<time>)` and the message to the session's
 * instructions.md (locked, one write, so concurrent tells and orchestrator notices never mix; the file is never
 * read or rewritten, so its size does not matter). An instructions.md that is not a regular file
 * we may read and write is refused, untouched.
 * The orchestrator sees the new block and hands it to the agent.
 */
export async function tellSession(workspace: string, query: string, message: string, from = "user"): Promise<TellResult> {
  const body = validateMessage(message);
  requireWorkspace(workspace);
  const row = findSession(workspace, query);
  if (row.archived || row.status === "completed") {
    throw new UserError(
      `${row.name} (${row.id}) has completed${row.archived ? " and is archived" : ""}; its agent will not read new instructions. Tell whoever requested it${row.requestedBy ? ` (${row.requestedBy})` : ""}, or the manager, instead`,
      EXIT.conflict,
    );
  }
  const file = instructionsPath(row.dir);
  let bytes: number;
  try {
    bytes = await appendInstructions(row.dir, from, body);
  } catch (err) {
    if (err instanceof AppendError) throw new UserError(`${err.message}; nothing was appended`, EXIT.failure);
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new UserError(`${row.id} was archived or removed while telling it; nothing was appended`, EXIT.conflict);
    throw new UserError(`could not append to ${file}: ${errorMessage(err)}; nothing was appended`, EXIT.failure);
  }
  return { session: row, file, bytes, delivery: deliveryNote(workspace, row), from };
}
