/**
 * OpenID Connect Back-Channel Logout against the real local AS: the AS posts a logout token
 * to the RP's backchannel_logout_uri when the session ends, and validateLogoutToken accepts it.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  buildEndSessionUrl,
  createAuthorizationRequest,
  createClient,
  handleCallback,
  isCodegrantError,
  validateLogoutToken,
  type Client,
  type LogoutTokenResult,
} from '@codegrant/core'
import {
  completeLogin,
  completeLogout,
  CookieJar,
  startLocalAs,
  type LocalAs,
} from '@codegrant/local-as'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addBackchannelClient } from './support/local-as.js'

const CLIENT_ID = 'web-backchannel'
const CLIENT_SECRET = 'web-backchannel-secret-for-local-tests-only'

let as: LocalAs
let rp: Server
let client: Client
const received: string[] = []
const outcomes: (LogoutTokenResult | string)[] = []
const seenJti = new Set<string>()

beforeAll(async () => {
  // The RP's back-channel logout endpoint.
  rp = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('logout_token')
      if (!token) {
        res.writeHead(400).end()
        return
      }
      received.push(token)
      validateLogoutToken(client, token, {
        isReplay: (jti) => seenJti.has(jti) || (seenJti.add(jti), false),
      }).then(
        (result) => {
          outcomes.push(result)
          res.writeHead(200, { 'cache-control': 'no-store' }).end()
        },
        (err: unknown) => {
          outcomes.push(isCodegrantError(err) ? err.code : 'unexpected')
          res.writeHead(400, { 'cache-control': 'no-store' }).end()
        },
      )
    })
  })
  await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve))
  const rpUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}`

  as = await startLocalAs()
  await addBackchannelClient(as, {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    backchannelLogoutUri: `${rpUrl}/backchannel-logout`,
  })
  client = await createClient({
    issuer: as.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: 'http://127.0.0.1/callback',
    postLogoutRedirectUri: 'http://127.0.0.1/',
  })
})

afterAll(async () => {
  await as?.close()
  rp?.closeAllConnections()
  await new Promise<void>((resolve) => (rp ? rp.close(() => resolve()) : resolve()))
})

describe('back-channel logout (local AS)', () => {
  it('the logout token the AS sends validates, with the session sub and sid; a replay is refused', async () => {
    const jar = new CookieJar()
    const { url, transaction } = await createAuthorizationRequest(client)
    const response = await completeLogin(url, { cookieJar: jar })
    const { tokens, claims } = await handleCallback(client, response.url, transaction)
    expect(claims?.sid).toBeTypeOf('string')

    const endSession = buildEndSessionUrl(client, { idTokenHint: tokens.id_token as string })
    await completeLogout(endSession as URL, { cookieJar: jar })

    // The AS delivers the token during the logout request, before it redirects.
    expect(received).toHaveLength(1)
    expect(outcomes[0]).toEqual({
      sub: claims?.sub,
      sid: claims?.sid,
      claims: expect.objectContaining({
        iss: as.issuer,
        aud: CLIENT_ID,
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      }),
    })
    const backchannel = as.events.filter((e) => e.name.startsWith('backchannel.'))
    expect(backchannel.map((e) => e.name)).toEqual(['backchannel.success'])

    // The same token again: the replay guard refuses it.
    const replay = await validateLogoutToken(client, received[0] as string, {
      isReplay: (jti) => seenJti.has(jti),
    }).catch((e: unknown) => e)
    expect(isCodegrantError(replay, 'ERR_LOGOUT_TOKEN_INVALID')).toBe(true)
  })

  it('an ID token is not accepted as a logout token', async () => {
    const { url, transaction } = await createAuthorizationRequest(client)
    const response = await completeLogin(url)
    const { tokens } = await handleCallback(client, response.url, transaction)
    const err = await validateLogoutToken(client, tokens.id_token as string).catch(
      (e: unknown) => e,
    )
    expect(isCodegrantError(err, 'ERR_LOGOUT_TOKEN_INVALID')).toBe(true)
  })
})
