/**
 * Every value of a flag given more than once (`--model-for a=x --model-for b=y`): citty keeps only
 * the last one. Reads `--name value` and `--name=value`, and stops at `--`.
 */
export function flagValues(rawArgs: readonly string[], name: string): string[] {
  const out: string[] = [];
  const long = `--${name}`;
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") break;
    if (a === long) {
      const v = rawArgs[i + 1];
      if (v !== undefined && v !== "--") out.push(v);
      else out.push("");
      i++;
    } else if (a.startsWith(`${long}=`)) out.push(a.slice(long.length + 1));
  }
  return out;
}
