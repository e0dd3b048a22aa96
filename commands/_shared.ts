import type { ArgDef } from "citty";

/** Argument definitions every command shares. */
export const sharedArgs = {
  workspace: {
    type: "string",
    alias: "w",
    description: "Workspace directory (default: $CLAUDE_WRAPPER_WORKSPACE, else the nearest .database from here up, else ./.database)",
    valueHint: "dir",
  },
} as const satisfies Record<string, ArgDef>;

export const jsonArg = {
  json: { type: "boolean", description: "Print JSON instead of text" },
} as const satisfies Record<string, ArgDef>;

/** The views show the current team; this widens them to every team the workspace has held. */
export const allTeamsArg = {
  all: { type: "boolean", alias: "a", description: "Include earlier teams' sessions" },
} as const satisfies Record<string, ArgDef>;
