// The help card's calls to Tandem: the card's words, the request, where it stands, Cancel. No cookies
// and no referrer; the page's address goes only in the request (the server drops its query string).
// Each resolves to {status, body}; a network failure rejects.

async function call(url, init = {}, fetchFn = fetch) {
  const response = await fetchFn(url, { credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store", ...init });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, body };
}

export const words = (base, site, fetchFn) => call(`${base}/api/widget/help/words/?site=${encodeURIComponent(site)}`, {}, fetchFn);

export const ask = (base, request, fetchFn) =>
  call(`${base}/api/widget/help/`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) }, fetchFn);

export const status = (url, fetchFn) => call(url, {}, fetchFn);

export const cancel = (url, fetchFn) => call(url, { method: "DELETE" }, fetchFn);
