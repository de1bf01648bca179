// Types of what the tests use from nginx.js (the bench itself is plain JavaScript).

export interface RunningNginx {
  url: string
  pid: number
  alive(): boolean
  output(): string
  killNow(): void
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export function findNginx(): string | null

export function startNginx(options: {
  bin: string
  prefix: string
  files?: Array<{ urlPath: string; type?: string; body: Buffer | string; gzip?: Buffer }>
  workers?: number
  /** Proxy to these `127.0.0.1:port` servers instead of serving files. */
  balance?: { servers: string[]; failTimeout?: string }
}): Promise<RunningNginx>
