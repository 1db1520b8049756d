/**
 * Lists are in identity order (what a person expects), not in the order of shards or nodes: the cluster-wide
 * merge of every node's stations (ChargePointList and /api/v1/stations in a cluster). The single-node lists are
 * checked against a live router in test/docs-examples.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeCluster, sortedByIdentity } from '../src/api/station-views.js';
import type { ClusterStation } from '../src/control/cluster-member.js';

function row(identity: string, node: string, connected: boolean, lastMessageAt: number): ClusterStation {
  return { identity, node, connected, lastMessageAt, shard: 0, account: null, version: 'ocpp1.6', transport: 'ws', callbackUrl: null, remoteAddress: '127.0.0.1', connectedAt: 1, disconnectedAt: null, lastDisconnect: null, boot: null, connectors: {} };
}

test('the cluster-wide list is in identity order, one entry per identity (connected wins, then the newest)', () => {
  const remote = [row('CP-3', 'n2', true, 5), row('CP-10', 'n2', true, 5), row('A-1', 'n3', false, 9), row('CP-2', 'n3', true, 1), row('CP-2', 'n2', false, 7), row('A-1', 'n2', false, 3)];
  const merged = mergeCluster([], 'n1', remote);
  assert.deepEqual(merged.map((s) => `${s.identity}@${s.node}`), ['A-1@n3', 'CP-10@n2', 'CP-2@n3', 'CP-3@n2']);
});

test('sortedByIdentity: code-unit order (as the cursor paging of /api/v1/stations), a new array', () => {
  const input = [{ identity: 'b' }, { identity: 'B' }, { identity: 'a-2' }, { identity: 'a-10' }];
  const out = sortedByIdentity(input);
  assert.deepEqual(out.map((s) => s.identity), ['B', 'a-10', 'a-2', 'b']);
  assert.notEqual(out, input);
});
