import { createHash } from 'node:crypto';

export interface QueryableClient {
  query: (...args: unknown[]) => Promise<unknown>;
}

/** Named statements per connection at most: our queries come from a fixed set of shapes, `in (…)` lists add a few. */
const PREPARED_PER_CONNECTION = 2000;

/**
 * PostgreSQL: every parameterised query runs as a named prepared statement on its connection, so the server
 * parses and plans each shape once per connection instead of on every call (Kysely sends plain queries). A
 * statement whose plan went stale because another process changed the schema (a migration while this
 * process runs) is sent unnamed from then on.
 */
export function prepareStatements(client: QueryableClient): void {
  const query = client.query.bind(client);
  const names = new Map<string, string>();
  const stale = new Set<string>();
  client.query = (...args: unknown[]) => {
    const [text, values] = args;
    if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0 || args.length > 2 || stale.has(text)) return query(...args);
    let name = names.get(text);
    if (!name) {
      if (names.size >= PREPARED_PER_CONNECTION) return query(...args);
      name = `esimhub_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.set(text, name);
    }
    return query({ name, text, values }).catch((error: { code?: string; message?: string }) => {
      if (error.code !== '0A000' || !/cached plan/.test(error.message ?? '')) throw error;
      stale.add(text);
      throw error;
    });
  };
}
