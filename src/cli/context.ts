/**
 * Passed to every command factory: commands report their exit code here. In its own file so
 * that src/cli/commands/* and src/cli/main.ts do not import each other (issue #15).
 */
export interface CommandContext {
  exit(code: number): void;
}
