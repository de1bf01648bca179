import client from 'prom-client'

/** What a request was, for metric labels: a handful of classes, never a package name or a user. */
export type RouteClass =
  | 'packument'
  | 'tarball'
  | 'publish'
  | 'unpublish'
  | 'dist-tag'
  | 'search'
  | 'user'
  | 'audit'
  | 'web'
  | 'ping'
  | 'health'
  | 'metrics'
  | 'other'

/** Classifies a request by method and path (as routed: after url_prefix). Pure. */
export function routeClass(method: string | undefined, path: string): RouteClass {
  if (path === '/-/ping') return 'ping'
  if (path === '/-/health') return 'health'
  if (path === '/-/metrics') return 'metrics'
  if (path === '/-/v1/search' || path.startsWith('/-/_view/')) return 'search'
  if (path.startsWith('/-/npm/v1/security/')) return 'audit'
  if (path.startsWith('/-/package/')) return 'dist-tag'
  if (path.startsWith('/-/user/') || path.startsWith('/-/v1/login') || path.startsWith('/-/v1/done') || path.startsWith('/-/npm/v1/') || path === '/-/whoami') return 'user'
  if (path === '/' || path.startsWith('/-/web/')) return 'web'
  if (path.startsWith('/-/')) return 'other'
  if (path.includes('/-/') && path.endsWith('.tgz')) return method === 'DELETE' ? 'unpublish' : 'tarball'
  if (method === 'PUT') return 'publish'
  if (method === 'DELETE') return 'unpublish'
  return 'packument'
}

/** Read when scraped: state the server already keeps, so a scrape costs no I/O. */
export interface MetricSources {
  searchSize(): number
  /** Blob count and bytes of the store, as last counted in the background (null before the first count). */
  storeTotals(): { blobs: number; bytes: number } | null
  /** Per uplink: 0 closed, 1 open, 0.5 half-open (probing). */
  uplinkStates(): Array<{ uplink: string; open: number }>
}

/**
 * The server's Prometheus metrics, on a registry of its own (several servers in one process, in
 * tests, do not share counters). Updates are a counter increment or a histogram observation per
 * request: no measurable cost on the hot path (see the bench's metrics row).
 */
export class Metrics {
  readonly registry = new client.Registry()
  private readonly requests: client.Counter<'route' | 'method' | 'status'>
  private readonly duration: client.Histogram<'route'>
  private readonly bytes: client.Counter<'route'>
  private readonly cache: client.Counter<'outcome'>
  private readonly uplinkRequests: client.Counter<'uplink' | 'outcome'>
  private readonly publishes: client.Counter<'kind'>
  private readonly errors: client.Counter<'code'>

  constructor(sources: MetricSources) {
    const registers = [this.registry]
    this.requests = new client.Counter({ name: 'sinopia_http_requests_total', help: 'HTTP requests answered, by route class, method and status', labelNames: ['route', 'method', 'status'], registers })
    this.duration = new client.Histogram({
      name: 'sinopia_http_request_duration_seconds',
      help: 'Time from request to the end of the response, by route class',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    this.bytes = new client.Counter({ name: 'sinopia_http_response_bytes_total', help: 'Body bytes sent, by route class', labelNames: ['route'], registers })
    this.cache = new client.Counter({ name: 'sinopia_cache_total', help: 'Packument and tarball answers by cache outcome (hit, miss, revalidated, stale, offline, local)', labelNames: ['outcome'], registers })
    this.uplinkRequests = new client.Counter({ name: 'sinopia_uplink_requests_total', help: 'Requests to uplinks, by uplink and outcome (ok, error)', labelNames: ['uplink', 'outcome'], registers })
    this.publishes = new client.Counter({ name: 'sinopia_publishes_total', help: 'Accepted package writes (publish, unpublish, dist-tag)', labelNames: ['kind'], registers })
    this.errors = new client.Counter({ name: 'sinopia_errors_total', help: 'Error answers (status 500 and above, or a request that failed before its answer), by code', labelNames: ['code'], registers })
    new client.Gauge({
      name: 'sinopia_uplink_circuit_open',
      help: "An uplink's circuit breaker: 0 closed, 0.5 half-open (probing), 1 open",
      labelNames: ['uplink'],
      registers,
      collect() {
        this.reset()
        for (const { uplink, open } of sources.uplinkStates()) this.set({ uplink }, open)
      },
    })
    new client.Gauge({
      name: 'sinopia_search_index_packages',
      help: 'Packages in the search index',
      registers,
      collect() {
        this.set(sources.searchSize())
      },
    })
    new client.Gauge({
      name: 'sinopia_store_blobs',
      help: 'Tarball blobs in the store (counted in the background at start and every few minutes)',
      registers,
      collect() {
        const totals = sources.storeTotals()
        if (totals) this.set(totals.blobs)
      },
    })
    new client.Gauge({
      name: 'sinopia_store_blob_bytes',
      help: 'Bytes of tarball blobs in the store (counted with sinopia_store_blobs)',
      registers,
      collect() {
        const totals = sources.storeTotals()
        if (totals) this.set(totals.bytes)
      },
    })
    // Process metrics: RSS, heap, open file descriptors, event-loop lag.
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 })
  }

  request(route: RouteClass, method: string, status: number, seconds: number, bytes: number, cache: string | undefined): void {
    this.requests.inc({ route, method, status })
    this.duration.observe({ route }, seconds)
    if (bytes > 0) this.bytes.inc({ route }, bytes)
    if (cache && (route === 'packument' || route === 'tarball')) this.cache.inc({ outcome: cache })
    if (status >= 200 && status < 300 && (route === 'publish' || route === 'unpublish' || route === 'dist-tag') && method !== 'GET' && method !== 'HEAD') {
      this.publishes.inc({ kind: route })
    }
  }

  error(code: string): void {
    this.errors.inc({ code })
  }

  uplink(uplink: string, ok: boolean): void {
    this.uplinkRequests.inc({ uplink, outcome: ok ? 'ok' : 'error' })
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
