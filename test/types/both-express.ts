// Type test (test/request-properties.test.ts compiles it with skipLibCheck off): an app that
// imports both @codegrant/express (with its opt-in `req.auth` augmentation) and
// @codegrant/resource-server/express (`req.accessToken`). Two augmentations of the same property
// would fail here with TS2717 at the declaration.
import { createClient } from '@codegrant/core'
import { auth } from '@codegrant/express'
import '@codegrant/express/global'
import { createVerifier, type AuthInfo } from '@codegrant/resource-server'
import { tokenErrorHandler, requireToken } from '@codegrant/resource-server/express'
import express from 'express'

const app = express()
app.use(
  auth({
    client: () =>
      createClient({
        issuer: 'https://as.example.com',
        clientId: 'app',
        clientSecret: 'secret',
        redirectUri: 'https://app.example.com/callback',
      }),
    secret: 'a token secret of at least 32 characters',
  }),
)
const verifier = createVerifier({
  issuer: 'https://as.example.com',
  audience: 'https://api.example.com',
})
app.get('/api', requireToken({ verifier }), (req, res) => {
  const loggedIn: boolean = req.auth?.isAuthenticated ?? false
  const token: AuthInfo | undefined = req.accessToken
  res.json({ loggedIn, sub: token?.sub })
})
app.use(tokenErrorHandler())
