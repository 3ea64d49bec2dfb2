import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

// ajv and ajv-formats are CommonJS: their default export is the module object under NodeNext.
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as typeof AjvModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule.default;

/** Bodies are validated strictly (no type coercion, unknown fields refused); query, params and headers coerce from text. */
function validators() {
  const options = { useDefaults: true, removeAdditional: false as const, allErrors: true, strict: false };
  const body = new Ajv({ ...options, coerceTypes: false });
  const text = new Ajv({ ...options, coerceTypes: 'array' as const });
  addFormats(body);
  addFormats(text);
  return { body, text };
}

/** Sets the validators of one encapsulated scope (/v1, the console API). */
export function useStrictValidation(app: FastifyInstance): void {
  const ajv = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.text).compile(schema as object));
}
