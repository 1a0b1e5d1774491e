// The local AS's HTML pages: plain, self-contained (inline CSS, no external resources), with
// stable ids that browser tests click (#username, #password, #allow, #deny, #logout-confirm).

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

const style = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#111827}
main{max-width:24rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.25rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=password]{width:100%;padding:.5rem;border:1px solid #9ca3af;border-radius:.25rem;font:inherit}
input:focus,button:focus{outline:2px solid #2563eb;outline-offset:2px}
button{margin-top:1rem;padding:.5rem 1rem;border:0;border-radius:.25rem;font:inherit;font-weight:600;cursor:pointer;background:#2563eb;color:#fff}
button.secondary{background:#e5e7eb;color:#111827}
.actions{display:flex;gap:.5rem}
.error{padding:.5rem .75rem;border-radius:.25rem;background:#fee2e2;color:#991b1b}
.hint{color:#4b5563;font-size:.875rem}
ul{padding-left:1.25rem}
code{font-size:.875rem}
`

function layout(title: string, body: string, script = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} - codegrant local AS</title>
<style>${style}</style>
</head>
<body>
<main>
${body}
</main>${script}
</body>
</html>`
}

/** The sign-in page of one interaction. */
export function loginPage(input: {
  uid: string
  action: string
  clientName: string
  username?: string
  error?: string
  hint?: string
}): string {
  const error = input.error
    ? `<p class="error" role="alert" id="error">${escapeHtml(input.error)}</p>\n`
    : ''
  const hint = input.hint ? `<p class="hint">${escapeHtml(input.hint)}</p>\n` : ''
  return layout(
    'Sign in',
    `<h1>Sign in to continue to ${escapeHtml(input.clientName)}</h1>
${error}<form method="post" action="${escapeHtml(input.action)}" data-step="login">
<input type="hidden" name="uid" value="${escapeHtml(input.uid)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" required autofocus value="${escapeHtml(input.username ?? '')}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="sign-in">Sign in</button>
</form>
${hint}`,
  )
}

const scopeDescriptions: Record<string, string> = {
  openid: 'Sign you in',
  profile: 'See your name and profile',
  email: 'See your email address',
  address: 'See your address',
  phone: 'See your phone number',
  offline_access: 'Keep access while you are away (refresh tokens)',
}

/** The consent page of one interaction: the scopes asked for, Allow or Deny. */
export function consentPage(input: {
  uid: string
  action: string
  clientName: string
  scopes: readonly string[]
  resources: readonly { resource: string; scopes: readonly string[] }[]
}): string {
  const items = input.scopes.map(
    (scope) =>
      `<li>${escapeHtml(scopeDescriptions[scope] ?? 'Use this permission')} <code>${escapeHtml(scope)}</code></li>`,
  )
  for (const { resource, scopes } of input.resources) {
    for (const scope of scopes) {
      items.push(
        `<li>Use <code>${escapeHtml(scope)}</code> on the API <code>${escapeHtml(resource)}</code></li>`,
      )
    }
  }
  const list = items.length > 0 ? `<ul id="scopes">\n${items.join('\n')}\n</ul>` : ''
  return layout(
    'Authorize',
    `<h1>${escapeHtml(input.clientName)} asks for access</h1>
<p>It will be allowed to:</p>
${list}
<form method="post" action="${escapeHtml(input.action)}" data-step="consent">
<input type="hidden" name="uid" value="${escapeHtml(input.uid)}">
<div class="actions">
<button type="submit" id="allow" name="decision" value="allow">Allow</button>
<button type="submit" id="deny" name="decision" value="deny" class="secondary">Deny</button>
</div>
</form>`,
  )
}

/**
 * The sign-out confirmation page. `form` is oidc-provider's hidden form (`op.logoutForm`).
 * With `autoSubmit` (a valid id_token_hint named the client), it submits itself.
 */
export function logoutPage(input: { form: string; host: string; autoSubmit: boolean }): string {
  const script = input.autoSubmit
    ? `\n<script>document.getElementById('logout-confirm').click()</script>`
    : ''
  return layout(
    'Sign out',
    `<h1>Sign out of ${escapeHtml(input.host)}?</h1>
${input.form}
<div class="actions">
<button type="submit" id="logout-confirm" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" id="logout-cancel" form="op.logoutForm" class="secondary">No, stay signed in</button>
</div>`,
    script,
  )
}

/** Shown after a sign-out without a post_logout_redirect_uri. */
export function loggedOutPage(): string {
  return layout('Signed out', '<h1 id="signed-out">You are signed out.</h1>')
}

/** The error page for errors that cannot go back to the client. */
export function errorPage(input: { error: string; description?: string }): string {
  const description = input.description ? `<p>${escapeHtml(input.description)}</p>` : ''
  return layout(
    'Error',
    `<h1>Something went wrong</h1>
<p class="error" role="alert" id="error"><code>${escapeHtml(input.error)}</code></p>
${description}`,
  )
}
