// Plain HTML pages: small inline CSS, no external resources, every value escaped.

const CSS = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:.8rem 1.5rem;display:flex;gap:1rem;align-items:center}
header a{color:#cfe0ff;text-decoration:none}header strong{margin-right:auto}
main{max-width:52rem;margin:1.5rem auto;padding:0 1rem}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:1rem 1.25rem;margin-bottom:1rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eef0f4;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{width:30%;color:#555}pre{background:#f0f2f6;padding:.75rem;border-radius:6px;overflow:auto}
button,.button{background:#2f6fed;color:#fff;border:0;border-radius:6px;padding:.45rem .9rem;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
form{display:inline}.error{border-color:#e3a1a1;background:#fff6f6}.muted{color:#666}
`

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

export interface Viewer {
  name?: string | undefined
  loggedIn: boolean
}

export function layout(title: string, viewer: Viewer, body: string): string {
  const nav = viewer.loggedIn
    ? `<a href="/profile">Profile</a><a href="/api-data">API data</a>
       <form method="post" action="/logout"><button type="submit">Log out</button></form>`
    : `<a class="button" href="/login">Log in</a>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · codegrant web app</title><style>${CSS}</style></head>
<body><header><strong><a href="/">codegrant web app</a></strong>${nav}</header>
<main>${body}</main></body></html>`
}

export function homePage(viewer: Viewer): string {
  const body = viewer.loggedIn
    ? `<section><h1>Hello, ${escapeHtml(viewer.name ?? 'there')}</h1>
       <p>You are logged in. See your <a href="/profile">profile</a>, call the <a href="/api-data">API</a>,
       or <a href="/logout">log out</a>.</p></section>`
    : `<section><h1>Welcome</h1><p>This example app logs you in with OpenID Connect
       (authorization code + PKCE) and keeps your tokens on the server.</p>
       <p><a class="button" href="/login">Log in</a></p></section>`
  return layout('Home', viewer, body)
}

export function profilePage(
  viewer: Viewer,
  claims: Record<string, unknown>,
  expiresAt: number | undefined,
  csrfToken: string,
): string {
  const rows = Object.entries(claims)
    .map(
      ([name, v]) =>
        `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(typeof v === 'string' ? v : JSON.stringify(v))}</td></tr>`,
    )
    .join('')
  const expiry =
    expiresAt === undefined
      ? '<p>The authorization server did not say when the access token expires.</p>'
      : `<p>The access token expires at <strong id="token-expiry">${escapeHtml(new Date(expiresAt * 1000).toISOString())}</strong>
         (<span id="token-seconds-left">${Math.max(0, expiresAt - Math.floor(Date.now() / 1000))}</span> seconds from now).
         It is refreshed automatically before it expires.</p>`
  return layout(
    'Profile',
    viewer,
    `<section><h1>Profile</h1><table id="claims">${rows}</table></section>
     <section id="token-panel"><h2>Access token</h2>${expiry}
     <form method="post" action="/refresh-token"><input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}">
     <button type="submit" id="refresh-token">Refresh now</button></form></section>`,
  )
}

export function apiPage(viewer: Viewer, status: number, data: unknown): string {
  return layout(
    'API data',
    viewer,
    `<section><h1>API result</h1><p class="muted">GET /api/private answered ${escapeHtml(status)}</p>
     <pre id="api-result">${escapeHtml(JSON.stringify(data, null, 2))}</pre></section>`,
  )
}

export function errorPage(viewer: Viewer, status: number, title: string, message: string): string {
  return layout(
    title,
    viewer,
    `<section class="error"><h1>${escapeHtml(title)}</h1><p id="error-message">${escapeHtml(message)}</p>
     <p class="muted">Status ${escapeHtml(status)}</p><p><a href="/">Home</a></p></section>`,
  )
}
