/** Row types of the tables migration 007_native_api creates; merged into DB in ../schema.ts. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface NativeApiTables {}
