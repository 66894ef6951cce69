/** A JSON object (not null, not an array): what a request body's or a schema's object fields must be. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
