export * from './reader.ts'
export * from './oid.ts'
export * from './values.ts'
export * from './tolerance.ts'
