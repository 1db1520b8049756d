/**
 * A URL as it may appear in a log: the user and password of `scheme://user:pass@host` and every query value
 * (`?token=…`) are replaced by `***`. Operators put credentials into webhook and NATS URLs; logs are read by more
 * people than the configuration (docs/api.md: credentials never appear in logs).
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not a URL: keep the scheme and host part readable, hide anything that looks like credentials.
    return text.replace(/\/\/[^/@]*@/, '//***@').replace(/\?.*$/, '?***');
  }
  if (url.username !== '') url.username = '***';
  if (url.password !== '') url.password = '***';
  if (url.search !== '') {
    const keys = [...new Set(url.searchParams.keys())];
    url.search = keys.map((k) => `${encodeURIComponent(k)}=***`).join('&');
  }
  return url.toString().replace(/%2A%2A%2A/g, '***');
}
