/**
 * The pieces the configuration schema is built from: the subset of JSON Schema it uses, and small constructors for
 * its nodes (integers with bounds and units, booleans, closed objects with defaults).
 */
/** The subset of JSON Schema used here (enough for `describeConfig()` to walk it). */
export interface SchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  propertyNames?: SchemaNode;
  /** Not a JSON Schema keyword: the unit shown in the docs. Ajv is told to accept it. */
  'x-unit'?: string;
}

export const MIB = 1024 * 1024;

export function int(min: number, max: number, def: number, description: string, unit?: string): SchemaNode {
  const node: SchemaNode = { type: 'integer', minimum: min, maximum: max, default: def, description };
  if (unit !== undefined) node['x-unit'] = unit;
  return node;
}

export function bool(def: boolean, description: string): SchemaNode {
  return { type: 'boolean', default: def, description };
}

export function object(description: string, properties: Record<string, SchemaNode>): SchemaNode {
  return { type: 'object', description, default: {}, additionalProperties: false, properties };
}

/** `scrypt$<N>$<r>$<p>$<saltB64>$<hashB64>` (see password-hash.ts, which checks the numbers too). */
export const PASSWORD_HASH_PATTERN = '^scrypt\\$[0-9]{1,8}\\$[0-9]{1,3}\\$[0-9]{1,3}\\$[A-Za-z0-9+/]+={0,2}\\$[A-Za-z0-9+/]+={0,2}$';
