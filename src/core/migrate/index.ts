/** Moving a store: from one backend to another (migrateStore), or out of a Verdaccio/Sinopia storage folder (migrateVerdaccio). */
export { migrateStore } from './stores.js'
export { migrateHtpasswd, migrateVerdaccio, type VerdaccioSource } from './verdaccio.js'
export { assertSource } from './location.js'
export { DEFAULT_MIGRATE_CONCURRENCY, type MigrateFailure, type MigrateOptions, type MigrateProgress, type MigrateReport } from './report.js'
