/** The date-time fast path answers exactly as ajv-formats' full `date-time` does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ajvFormats from 'ajv-formats/dist/formats.js';
import { validateDateTime } from '../src/protocol/validation/formats.js';

const original = (ajvFormats as unknown as { fullFormats: Record<string, { validate(s: string): boolean }> }).fullFormats['date-time']!.validate;

test('date-time: hand-picked cases agree with ajv-formats', () => {
  const cases = [
    '2026-11-21T07:48:13.278Z', '2026-11-21T07:48:13Z', '2024-02-29T23:59:59.1Z', '2023-02-29T00:00:00Z', '2000-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-00-01T00:00:00Z', '2026-04-31T00:00:00Z', '2026-04-30T24:00:00Z',
    '2026-04-30T23:60:00Z', '2026-04-30T23:59:60Z', '2026-12-31T23:59:60Z', '2026-12-31T23:59:60.5Z', '2026-04-30t10:00:00z',
    '2026-04-30 10:00:00Z', '2026-04-30T10:00:00+02:00', '2026-04-30T10:00:00', '2026-04-30T10:00:00.Z', '2026-04-30T10:00:00.123456789Z',
    '2026-4-30T10:00:00Z', '20260430T100000Z', '', 'Z', '2026-04-30T10:00:0aZ', '2026-04-30T10:00:00ZZ', '２０２６-04-30T10:00:00Z',
  ];
  for (const s of cases) assert.equal(validateDateTime(s), original(s), s);
});

test('date-time: 200,000 mutated strings agree with ajv-formats', () => {
  const alphabet = '0123456789-:TtZz.+ 6';
  const bases = ['2026-11-21T07:48:13.278Z', '2024-02-29T23:59:59Z', '1999-12-31T23:59:60Z', '2026-06-30T00:00:00.5Z'];
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let fastTrue = 0;
  for (let i = 0; i < 200_000; i++) {
    const chars = bases[rand(bases.length)]!.split('');
    const edits = 1 + rand(3);
    for (let e = 0; e < edits; e++) {
      const at = rand(chars.length + 1);
      const kind = rand(3);
      const c = alphabet[rand(alphabet.length)]!;
      if (kind === 0) chars[at] = c;
      else if (kind === 1) chars.splice(at, 0, c);
      else chars.splice(at, 1);
    }
    const s = chars.join('');
    const expected = original(s);
    assert.equal(validateDateTime(s), expected, s);
    if (expected) fastTrue++;
  }
  assert.ok(fastTrue > 1000, 'the mutations include many valid date-times');
});
