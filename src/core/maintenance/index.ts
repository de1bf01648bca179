/** Keeping a storage folder healthy: usage tracking, prune, verify and storage info. */
export { UsageTracker, USAGE_FLUSH_MS, readUsage, updateUsage, type Usage } from './usage.js'
export { applyPrune, planPrune, PRUNE_GRACE_MS, type OrphanBlob, type PruneItem, type PruneOptions, type PrunePlan, type PruneResult, type StalePackument } from './prune.js'
export { selectForPrune, type Candidate, type KeepReason, type PruneReason, type Selection } from './select.js'
export { emptyKeepList, readKeepList, type KeepList } from './keep.js'
export { verifyStore, type VerifyProgress, type VerifyReport } from './verify.js'
export { storageInfo, type StorageInfo } from './info.js'
export { parseTarballKey, scanStore, type Inventory, type PackageScan } from './inventory.js'
export { formatAge, formatBytes, plural } from './format.js'
