// handleCallback requires an ID token for an `openid` transaction by its scope, not only through
// the nonce (issue 15 mutation pass, mutant id-token-not-required): a transaction that carries
// no nonce (stored by hand, or by an older release) still gets ERR_ID_TOKEN_MISSING.
import { describe, expect, it } from 'vitest'
import { createAuthorizationRequest } from '../src/authorize.js'
import { handleCallback } from '../src/callback.js'
import { failure, setupFakeAs } from './helpers/clients.js'
import { json } from './helpers/fake-as.js'

describe('handleCallback without a nonce in the transaction', () => {
  it('still refuses a token response without id_token when the scope has openid', async () => {
    const { as, client } = await setupFakeAs()
    const { transaction } = await createAuthorizationRequest(client)
    const { nonce, ...withoutNonce } = transaction
    expect(nonce).toBeTypeOf('string')
    expect(withoutNonce.scope.split(' ')).toContain('openid')
    as.token = () => json({ access_token: 'a', token_type: 'Bearer' })
    const url = new URL(withoutNonce.redirect_uri)
    url.searchParams.set('code', 'code-1')
    url.searchParams.set('state', withoutNonce.state)
    const err = await failure(handleCallback(client, url, withoutNonce))
    expect(err.code).toBe('ERR_ID_TOKEN_MISSING')
  })

  it('accepts the same response for a transaction without openid (the check is the scope)', async () => {
    const { as, client } = await setupFakeAs()
    const { transaction } = await createAuthorizationRequest(client, { scope: 'api:read' })
    expect(transaction.nonce).toBeUndefined()
    as.token = () => json({ access_token: 'a', token_type: 'Bearer' })
    const url = new URL(transaction.redirect_uri)
    url.searchParams.set('code', 'code-1')
    url.searchParams.set('state', transaction.state)
    await expect(handleCallback(client, url, transaction)).resolves.toEqual({
      tokens: { access_token: 'a', token_type: 'Bearer' },
    })
  })
})
