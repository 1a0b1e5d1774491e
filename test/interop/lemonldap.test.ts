// LemonLDAP::NG 2.16 from Debian's packages, started and configured from scratch for this run.
//
// Expected to fail until the fixes of issue 8 land:
// - client_secret_basic: every step from the login on (the client id `codegrant-web-basic` is sent
//   as `codegrant%2Dweb%2Dbasic`, defect 3, fix on branch `core`);
// - both methods, "/me shows ... name and email": LemonLDAP releases them through UserInfo only
//   (defect 5, fix on branch `express`);
// - both methods, "refreshes twice in a row": LemonLDAP keeps the refresh token, so the second
//   refresh is served the first one's expired token set from the grace window (defect 1, `core`).
import { describeInterop } from './flows.js'
import { startLemonLdap } from './lemonldap.js'

describeInterop('LemonLDAP::NG', {
  start: startLemonLdap,
  methods: ['client_secret_basic', 'client_secret_post'],
})
