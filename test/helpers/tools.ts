/**
 * Tests that need a tool of the machine (chromium, prometheus, curl) say what they miss. In CI (`CI=true`, set by
 * .ci/run) nothing may skip: a missing tool fails the test with what to install. Outside CI the test is skipped
 * and the reason, with what to install, is printed.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** True when `CI` is set to something other than empty, `0` or `false`. */
export function inCi(): boolean {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** The executable: an absolute path as it is, a bare name looked up in PATH; null when missing. */
export function findExecutable(name: string): string | null {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

/**
 * Null when `executable` is there. Otherwise in CI throws (the test fails with what to install); outside CI
 * prints and returns the skip reason.
 */
export function toolMissing(executable: string, install: string, what: string): string | null {
  if (findExecutable(executable) !== null) return null;
  const reason = `${executable} not found: ${what} need it; install ${install}`;
  if (inCi()) throw new Error(`${reason} (CI=true: nothing may skip)`);
  console.log(`# skipped: ${reason}`);
  return reason;
}
