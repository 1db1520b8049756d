/**
 * The control plane's station registry on its own: statuses reported out of order (OCPP-S requests of one station
 * served by two shards) keep the newest, and the write-through tiers (changes every second, connector statuses
 * every 10 s, last-message times every minute) hand out each change once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StationRegistry } from '../src/control/station-registry.js';

function connected(registry: StationRegistry, identity: string): void {
  registry.connected({ identity, account: null, version: 'ocpp1.6', remoteAddress: '127.0.0.1', connId: 1, at: 1000 }, 0);
  registry.takeChanges(true);
}

test('an older connector status reported late never overwrites a newer one', () => {
  const registry = new StationRegistry();
  connected(registry, 'CP1');
  registry.status('CP1', 1, { connector: '1', status: 'Available', at: 3000 });
  registry.status('CP1', 1, { connector: '1', status: 'Finishing', at: 2000 });
  assert.equal(registry.get('CP1')!.connectors['1']!.status, 'Available');
  registry.status('CP1', 1, { connector: '1', status: 'Preparing', at: 4000 });
  assert.equal(registry.get('CP1')!.connectors['1']!.status, 'Preparing');
});

test('write-through tiers: a status-only change waits for the status tier, a boot does not; each change is handed out once', () => {
  const registry = new StationRegistry();
  connected(registry, 'CP1');
  connected(registry, 'CP2');
  registry.status('CP1', 1, { connector: '1', status: 'Charging', at: 2000 });
  registry.boot('CP2', 1, { chargePointVendor: 'V', chargePointModel: 'M' }, 'Accepted', 2000);
  registry.seen([['CP1', 2500]]);
  assert.deepEqual(registry.takeChanges(false, false).rows.map((r) => r.identity), ['CP2']);
  assert.deepEqual(registry.takeChanges(false, true).rows.map((r) => r.identity), ['CP1']);
  assert.deepEqual(registry.takeChanges(false, true).rows, []);
  assert.deepEqual(registry.takeChanges(true).rows.map((r) => [r.identity, r.lastMessageAt]), [['CP1', 2500]]);
});
