import type { ArgDef } from "citty";

/** Argument definitions every command shares. */
export const sharedArgs = {
  workspace: {
    type: "string",
    alias: "w",
    description: "Workspace directory (default: $CLAUDE_WRAPPER_WORKSPACE or ./.database)",
    valueHint: "dir",
  },
} as const satisfies Record<string, ArgDef>;

export const jsonArg = {
  json: { type: "boolean", description: "Print JSON instead of text" },
} as const satisfies Record<string, ArgDef>;
