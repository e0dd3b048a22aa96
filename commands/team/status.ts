import { defineCommand } from "citty";
import { UserError } from "../../core/errors";

export default defineCommand({
  meta: { name: "status", description: "(not built yet)" },
  run() {
    throw new UserError("status is not built yet", 1);
  },
});
