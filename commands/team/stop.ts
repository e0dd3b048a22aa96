import { defineCommand } from "citty";
import { UserError } from "../../core/errors";

export default defineCommand({
  meta: { name: "stop", description: "(not built yet)" },
  run() {
    throw new UserError("stop is not built yet", 1);
  },
});
