/** Row types of the tables migration 007_native_api creates; merged into DB in ../schema.ts. */
export interface IdempotencyKeyTable {
  /** The API key (api_keys.id) the request authenticated with: keys are scoped per API key. */
  key_id: string;
  method: string;
  /** The request path without the query string. */
  path: string;
  idempotency_key: string;
  /** sha256 of the request body (and query), to refuse a reuse with different parameters. */
  request_hash: string;
  state: 'in_flight' | 'done';
  response_status: number | null;
  response_body: string | null;
  /** The Content-Type of the stored response. */
  response_type: string | null;
  /** An in-flight claim older than this is abandoned (the process died) and may be taken over. */
  locked_until: number;
  created_at: number;
  expires_at: number;
}

export interface NativeApiTables {
  idempotency_keys: IdempotencyKeyTable;
}
