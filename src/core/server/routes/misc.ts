import type { ServerResponse } from 'node:http'
import type { Polka, Request } from 'polka'
import type { ServerContext } from '../context.js'
import { methodNotAllowed, sendJson } from '../respond.js'

/** `npm ping`. (The page at `/` is the package list of ./web.ts.) */
export function miscRoutes(app: Polka, _ctx: ServerContext): void {
  app.get('/-/ping', (_req: Request, res: ServerResponse) => sendJson(res, 200, {}))
  app.all('/-/ping', (req: Request, res: ServerResponse) => methodNotAllowed(res, req.method, ['GET', 'HEAD']))
}
