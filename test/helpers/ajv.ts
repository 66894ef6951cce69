/**
 * ajv with ajv-formats in its full mode: an independent JSON Schema validator for tests that judge structured
 * output (a devDependency; the project's own validation does not use it).
 */
import { Ajv } from 'ajv';
import formatsModule, { type FormatsPlugin } from 'ajv-formats';

export function ajvWithFormats(): Ajv {
  const ajv = new Ajv({ strict: false });
  // a CommonJS default export: under NodeNext the plugin is the module's `default`
  (formatsModule as unknown as { default: FormatsPlugin }).default(ajv, { mode: 'full' });
  return ajv;
}
