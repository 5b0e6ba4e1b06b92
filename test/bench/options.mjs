// The benchmarks' command-line options: `--name value` pairs looked up in process.argv-style arrays.

/** The value after `flag` (e.g. '--runs'), or undefined when the flag or its value is missing. */
export function optionValue(args, flag) {
  const at = args.indexOf(flag);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : undefined;
}

/** The number after `flag`, or `fallback` when the flag is missing. */
export function numberOption(args, flag, fallback) {
  return args.includes(flag) ? Number(optionValue(args, flag)) : fallback;
}
