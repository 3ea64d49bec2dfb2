/** Row types of the tables migration 008_operations creates; merged into DB in ../schema.ts. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface OperationsTables {}
