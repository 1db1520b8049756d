/**
 * The input that registers an EVSE as an asset, checked (API body, CLI arguments). Kept apart from assets.ts so
 * the API and the CLI parse it without loading the key and chain libraries.
 */
export interface AssetInput {
  identity: string;
  evseId: number;
  connectorId: number;
}

/** Bad input from the API or the CLI: the message says what is wrong. */
export class AssetInputError extends Error {
  override name = 'AssetInputError';
}

export function checkAssetInput(body: Record<string, unknown>): AssetInput {
  const problems: string[] = [];
  const identity = body.identity;
  if (typeof identity !== 'string' || identity.length === 0 || identity.length > 255) problems.push('identity must be a string of 1 to 255 characters');
  const int = (name: string, min: number): number => {
    const v = body[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 1_000_000) {
      problems.push(`${name} must be an integer from ${min} to 1000000`);
      return 0;
    }
    return v;
  };
  const connectorId = int('connectorId', 0);
  const evseId = int('evseId', 0);
  if (problems.length > 0) throw new AssetInputError(problems.join('; '));
  return { identity: identity as string, evseId, connectorId };
}
