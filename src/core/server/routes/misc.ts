import type { ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import type { ServerContext } from '../context.js'
import { publicBaseUrl } from '../negotiate.js'
import { methodNotAllowed, sendJson } from '../respond.js'

/** `npm ping`, and a plain page at `/` for people who open the URL in a browser. */
export function miscRoutes(app: Polka, ctx: ServerContext): void {
  app.get('/-/ping', (_req: Request, res: ServerResponse) => sendJson(res, 200, {}))
  app.all('/-/ping', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD']))
  app.get('/', (req: Request, res: ServerResponse) => {
    const base = publicBaseUrl(req, ctx.config.urlPrefix, ctx.hostForUrls)
    const html = `<!doctype html><meta charset="utf-8"><title>sinopia-cli</title>
<p>sinopia-cli registry is running. Point your client at it:</p>
<pre>npm set registry ${escapeHtml(base)}</pre>\n`
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'" })
    res.end(html)
  })
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
