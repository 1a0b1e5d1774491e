// The two web adapters behind one shape, for the suites that run against both (describe.each):
// @codegrant/express (express-harness.ts) and @codegrant/fastify (fastify-harness.ts), each with
// the same routes (`/`, `/me`, `/token`, `/profile`) and JSON errors.
import type { AuthOptions } from '@codegrant/express'
import type { LocalAs } from '@codegrant/local-as'
import { startTestApp } from './express-harness.js'
import { COOKIE_NAME, startFastifyTestApp } from './fastify-harness.js'
import { Agent } from './support/agent.js'

export interface WebTestApp {
  readonly url: string
  close(): Promise<void>
}

export interface WebFramework {
  readonly name: 'express' | 'fastify'
  /** The factory named in option errors. */
  readonly factory: 'auth()' | 'fastifyAuth'
  /** Whether the router matches paths case-insensitively and ignores a trailing slash. */
  readonly lenientRouting: boolean
  start(options: { as: LocalAs; auth?: Partial<AuthOptions> }): Promise<WebTestApp>
  agent(app: WebTestApp): Agent
}

export const WEB_FRAMEWORKS: readonly WebFramework[] = [
  {
    name: 'express',
    factory: 'auth()',
    lenientRouting: true,
    start: (options) => startTestApp(options),
    agent: (app) => new Agent(app.url),
  },
  {
    name: 'fastify',
    factory: 'fastifyAuth',
    lenientRouting: false,
    start: (options) => startFastifyTestApp(options),
    agent: (app) => new Agent(app.url, COOKIE_NAME),
  },
]
