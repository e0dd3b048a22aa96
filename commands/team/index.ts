import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "team", description: "Start, inspect, stop (pause), resume or clean up after the whole team" },
  subCommands: {
    start: () => import("./start").then((m) => m.default),
    status: () => import("./status").then((m) => m.default),
    stop: () => import("./stop").then((m) => m.default),
    resume: () => import("./resume").then((m) => m.default),
    clean: () => import("./clean").then((m) => m.default),
  },
});
