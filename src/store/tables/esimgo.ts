/** Row types of the tables migration 005_esimgo creates; merged into DB in ../schema.ts. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface EsimGoTables {}
