// Types of what the tests use from postgres.js (the bench itself is plain JavaScript).

export function startCluster(cluster: string): Promise<number>
export function stopCluster(cluster: string): Promise<void>
export function createDatabase(port: number, name: string): Promise<string>
