// Just enough HTML form parsing for the local AS's own pages and oidc-provider's form_post pages.

/** @internal */
export function decodeHtml(value: string): string {
  return value
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&')
}

/** @internal */
export function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag)
  return match?.[1] === undefined ? undefined : decodeHtml(match[1])
}

/** @internal */
export function hiddenInputs(html: string): URLSearchParams {
  const body = new URLSearchParams()
  for (const [tag] of html.matchAll(/<input\b[^>]*>/gi)) {
    if (attribute(tag, 'type')?.toLowerCase() !== 'hidden') continue
    const name = attribute(tag, 'name')
    if (name !== undefined) body.append(name, attribute(tag, 'value') ?? '')
  }
  return body
}

/** @internal */
export function firstForm(html: string): { tag: string; inner: string } | undefined {
  const match = /(<form\b[^>]*>)([\s\S]*?)<\/form>/i.exec(html)
  return match ? { tag: match[1] ?? '', inner: match[2] ?? '' } : undefined
}
