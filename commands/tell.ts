import { defineCommand } from "citty";
import { UserError } from "../core/errors";

export default defineCommand({
  meta: { name: "tell", description: "(not built yet)" },
  run() {
    throw new UserError("tell is not built yet", 1);
  },
});
