import type { CommandDef } from "citty";

const _rDefault = (r: { default: unknown }) => r.default as CommandDef<any>;

/** Every command is loaded only when it runs, so `--help` and `--version` stay instant. */
export const commands = {
  team: () => import("./team/index").then(_rDefault),
  orchestrate: () => import("./orchestrate").then(_rDefault),
  attach: () => import("./attach").then(_rDefault),
  track: () => import("./track").then(_rDefault),
  tell: () => import("./tell").then(_rDefault),
  retry: () => import("./retry").then(_rDefault),
  logs: () => import("./logs").then(_rDefault),
  demo: () => import("./demo").then(_rDefault),
  doctor: () => import("./doctor").then(_rDefault),
  // The binary re-runs itself as a simulated agent for `demo` (no API key needed).
  "sim-agent": () => import("./sim-agent").then(_rDefault),
} as const;
