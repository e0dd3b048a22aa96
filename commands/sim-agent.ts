import { defineCommand } from "citty";
import { UserError } from "../core/errors";

export default defineCommand({
  meta: { name: "sim-agent", description: "(not built yet)" },
  run() {
    throw new UserError("sim-agent is not built yet", 1);
  },
});
