/** Checks a value against a schema of the checked-in openapi.json (Ajv, draft 2020-12). */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { OPENAPI_FILE } from '../../src/server/index.js';

const openapi = new Ajv2020({ strict: false, allErrors: true }).addSchema({ ...JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')), $id: 'openapi.json' });

/** True when `value` is what openapi.json says the schema `name` is; else Ajv's errors (so a failed expect shows them). */
export function documented(name: string, value: unknown): unknown {
  const check = openapi.getSchema(`openapi.json#/components/schemas/${name}`)!;
  return check(value) ? true : check.errors;
}
