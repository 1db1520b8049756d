/**
 * Process entry. `serve` started without --max-semi-space-size runs its control plane in a worker thread that
 * gets the young-generation limit from resourceLimits (control/control-thread.ts); this file decides that before
 * anything else is loaded, so the main thread's own heap stays as small as an idle isolate's. Every command is in
 * commands.ts.
 */
import { parseCli } from './cli.js';
import { controlPlaneHome, runWorkerControlPlane } from './control/control-thread.js';

const args = process.argv.slice(2);
const cli = parseCli(args);
if (cli.errors.length === 0 && cli.command === 'serve' && controlPlaneHome() === 'worker') runWorkerControlPlane(new URL('./commands.js', import.meta.url), args);
else await import('./commands.js');
