import { defineCommand } from "citty";
import { UserError } from "../core/errors";

export default defineCommand({
  meta: { name: "attach", description: "(not built yet)" },
  run() {
    throw new UserError("attach is not built yet", 1);
  },
});
