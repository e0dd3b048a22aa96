import { defineCommand } from "citty";
import { UserError } from "../core/errors";

export default defineCommand({
  meta: { name: "logs", description: "(not built yet)" },
  run() {
    throw new UserError("logs is not built yet", 1);
  },
});
