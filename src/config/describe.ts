/** The configuration schema as a table (docs/configuration.md is generated from it: scripts/config-doc.mjs). */
import { ENV_TABLE } from './env.js';
import { configSchema, type SchemaNode } from './schema.js';
import { join2 } from './problems.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface ConfigKeyDoc {
  /** `section` for an object with fixed keys, `key` for everything else. */
  kind: 'section' | 'key';
  path: string;
  /** `integer`, `string`, `string | null`, `boolean`, `array of …`, `map of …`. */
  type: string;
  default: Json | undefined;
  description: string;
  /** Bounds, allowed values, unit, as text. */
  constraints: string;
  /** Env variables that set it (env.ts). */
  env: string[];
}

function typeText(node: SchemaNode): string {
  if (node.type === 'array' && node.items) return `array of ${typeText(node.items)}`;
  if (node.type === 'object' && !node.properties && typeof node.additionalProperties === 'object') {
    return `map of ${typeText(node.propertyNames ?? { type: 'string' })} → ${typeText(node.additionalProperties)}`;
  }
  if (Array.isArray(node.type)) return node.type.join(' | ');
  return node.type ?? 'any';
}

function constraintsText(node: SchemaNode): string {
  const parts: string[] = [];
  if (node.enum) parts.push(`one of ${node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`);
  if (node.minimum !== undefined && node.maximum !== undefined) parts.push(`${node.minimum} … ${node.maximum}`);
  else if (node.minimum !== undefined) parts.push(`≥ ${node.minimum}`);
  else if (node.maximum !== undefined) parts.push(`≤ ${node.maximum}`);
  if (node['x-unit']) parts.push(node['x-unit']);
  if (node.minLength !== undefined && node.minLength > 0) parts.push(`non-empty`);
  if (node.type === 'array') {
    if (node.minItems) parts.push(`at least ${node.minItems} item${node.minItems === 1 ? '' : 's'}`);
    if (node.uniqueItems) parts.push('unique items');
    if (node.items) {
      const inner = constraintsText(node.items);
      if (inner) parts.push(`items: ${inner}`);
    }
  }
  return parts.join('; ');
}

/** Every section and key of the schema, depth first, with type, default, constraints and env names. */
export function describeConfig(): ConfigKeyDoc[] {
  const out: ConfigKeyDoc[] = [];
  const walk = (node: SchemaNode, path: string): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const childPath = join2(path, key);
      const isSection = child.type === 'object' && child.properties !== undefined;
      out.push({
        kind: isSection ? 'section' : 'key',
        path: childPath,
        type: typeText(child),
        default: child.default as Json | undefined,
        description: child.description ?? '',
        constraints: isSection ? '' : constraintsText(child),
        env: ENV_TABLE.filter((e) => e.path === childPath).map((e) => e.name),
      });
      if (isSection) walk(child, childPath);
    }
  };
  walk(configSchema, '');
  return out;
}
