import type { IncomingMessage } from 'node:http'
import type Provider from 'oidc-provider'
import type { ResolvedOptions } from './options.js'
import type { OfflineAccessTracker } from './offline-access.js'
import { consentPage, errorPage, loginPage } from './pages.js'

type Middleware = Parameters<Provider['use']>[0]

/** @internal Where oidc-provider sends the browser for an interaction. */
export function interactionPath(uid: string): string {
  return `/interaction/${encodeURIComponent(uid)}`
}

const route = /^\/interaction\/([\w-]+)(?:\/(login|consent))?$/

async function readForm(req: IncomingMessage, limit = 16_384): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw new Error('request body too large')
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

/**
 * @internal Koa middleware serving the login and consent pages of oidc-provider interactions:
 * `GET /interaction/:uid`, `POST /interaction/:uid/login`, `POST /interaction/:uid/consent`.
 * Each form carries the interaction uid in a hidden field, which must match both the URL and the
 * interaction bound to the browser's (SameSite=Lax) interaction cookie.
 */
export function interactionRoutes(
  provider: Provider,
  options: ResolvedOptions,
  offline: OfflineAccessTracker,
): Middleware {
  return async (ctx, next) => {
    const match = route.exec(ctx.path)
    if (match === null) return next()
    const [, uid, step] = match as unknown as [string, string, 'login' | 'consent' | undefined]
    ctx.set('cache-control', 'no-store')
    ctx.type = 'html'

    let details
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res)
    } catch {
      ctx.status = 400
      ctx.body = errorPage({
        error: 'invalid_request',
        description: 'This sign-in request has expired or is unknown. Start again from the app.',
      })
      return
    }
    if (details.uid !== uid) {
      ctx.status = 400
      ctx.body = errorPage({ error: 'invalid_request', description: 'Interaction mismatch.' })
      return
    }
    const clientId = String(details.params.client_id ?? '')
    const client = await provider.Client.find(clientId)
    const clientName = String(client?.metadata().client_name ?? clientId)
    const loginAction = `${interactionPath(uid)}/login`
    const consentAction = `${interactionPath(uid)}/consent`

    if (step === undefined) {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next()
      if (details.prompt.name === 'login') {
        ctx.body = loginPage({ uid, action: loginAction, clientName, hint: loginHint(options) })
        return
      }
      ctx.body = consentPage({
        uid,
        action: consentAction,
        clientName,
        scopes: missingScopes(details, offline.interactionWantsOffline(uid)),
        resources: missingResources(details),
      })
      return
    }

    if (ctx.method !== 'POST') {
      ctx.status = 405
      ctx.set('allow', 'POST')
      ctx.body = errorPage({ error: 'method_not_allowed' })
      return
    }
    const form = await readForm(ctx.req)
    if (form.get('uid') !== uid) {
      ctx.status = 400
      ctx.body = errorPage({ error: 'invalid_request', description: 'Form does not match.' })
      return
    }

    if (step === 'login') {
      if (details.prompt.name !== 'login') {
        ctx.status = 400
        ctx.body = errorPage({ error: 'invalid_request', description: 'Not a sign-in step.' })
        return
      }
      const username = form.get('username') ?? ''
      const password = form.get('password') ?? ''
      const user = options.users.find((u) => u.username === username && u.password === password)
      if (user === undefined) {
        ctx.status = 401
        ctx.body = loginPage({
          uid,
          action: loginAction,
          clientName,
          username,
          error: 'Invalid username or password.',
          hint: loginHint(options),
        })
        return
      }
      const redirectTo = await provider.interactionResult(
        ctx.req,
        ctx.res,
        { login: { accountId: user.claims.sub } },
        { mergeWithLastSubmission: false },
      )
      ctx.status = 303
      ctx.redirect(redirectTo)
      return
    }

    // consent
    if (details.prompt.name !== 'consent') {
      ctx.status = 400
      ctx.body = errorPage({ error: 'invalid_request', description: 'Not a consent step.' })
      return
    }
    if (form.get('decision') !== 'allow') {
      const redirectTo = await provider.interactionResult(
        ctx.req,
        ctx.res,
        { error: 'access_denied', error_description: 'the user denied the request' },
        { mergeWithLastSubmission: false },
      )
      ctx.status = 303
      ctx.redirect(redirectTo)
      return
    }
    const accountId = details.session?.accountId
    if (accountId === undefined) {
      ctx.status = 400
      ctx.body = errorPage({ error: 'invalid_request', description: 'No signed-in user.' })
      return
    }
    const grant =
      (details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)) ??
      new provider.Grant({ accountId, clientId })
    const promptDetails = details.prompt.details as {
      missingOIDCScope?: string[]
      missingOIDCClaims?: string[]
      missingResourceScopes?: Record<string, string[]>
    }
    const scopes = [...(promptDetails.missingOIDCScope ?? [])]
    if (offline.interactionWantsOffline(uid)) scopes.push('offline_access')
    if (scopes.length > 0) grant.addOIDCScope(scopes.join(' '))
    if (promptDetails.missingOIDCClaims?.length)
      grant.addOIDCClaims(promptDetails.missingOIDCClaims)
    for (const [indicator, list] of Object.entries(promptDetails.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, list.join(' '))
    }
    const grantId = await grant.save()
    const redirectTo = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    )
    ctx.status = 303
    ctx.redirect(redirectTo)
  }
}

function loginHint(options: ResolvedOptions): string | undefined {
  const demo = options.users.find((u) => u.username === 'demo' && u.password === 'demo')
  return demo ? 'Demo account: demo / demo' : undefined
}

function missingScopes(
  details: { prompt: { details: Record<string, unknown> } },
  offline: boolean,
): string[] {
  const list = (details.prompt.details.missingOIDCScope as string[] | undefined) ?? []
  return offline && !list.includes('offline_access') ? [...list, 'offline_access'] : [...list]
}

function missingResources(details: {
  prompt: { details: Record<string, unknown> }
}): { resource: string; scopes: string[] }[] {
  const map = (details.prompt.details.missingResourceScopes ?? {}) as Record<string, string[]>
  return Object.entries(map).map(([resource, scopes]) => ({ resource, scopes }))
}
