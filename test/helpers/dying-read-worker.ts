/**
 * A read-pool thread for tests (src/store/sqlite/read-pool.ts) that dies in the middle of a long read, as a thread
 * that runs out of memory or crashes would; short reads ('stations') are answered. Dying from JavaScript, not by
 * Worker.terminate() inside libsql's native call (which aborts the process: see read-pool.ts).
 */
export default async function read(task: { kind: string }): Promise<unknown> {
  if (task.kind === 'stations') return [];
  await new Promise((resolve) => setTimeout(resolve, 20));
  process.exit(70);
}
