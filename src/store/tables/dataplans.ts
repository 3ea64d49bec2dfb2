/** Row types of the tables migration 006_dataplans creates; merged into DB in ../schema.ts. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface DataplansTables {}
