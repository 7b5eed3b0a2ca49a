// The two calls the consent card makes. Each sends the grant (header) and nothing of the page: no
// address, no title, no content, not even a referrer; the browser adds only the page's Origin.

async function call(base, path, grant, body) {
  const headers = { "X-Tandem-Grant": grant };
  if (body) headers["Content-Type"] = "application/json";
  const response = await fetch(`${base}/api/cobrowse/grants/${path}/`, {
    method: "POST",
    headers,
    body: body ? JSON.stringify(body) : undefined,
    credentials: "omit",
    referrerPolicy: "no-referrer",
    cache: "no-store",
  });
  // Refused (unknown, expired or ended grant; a page the session may not be shared from).
  if (response.status >= 400 && response.status < 500) return null;
  if (!response.ok) throw new Error(`${path} failed: ${response.status}`);
  return response.json();
}

// Resolves to what the card shows ({title, prompt, details, allow, deny, ...}) or null if refused.
export const describeGrant = (base, grant) => call(base, "describe", grant);

// Resolves to {session, state, grant?} (a tab grant on Allow) or null if refused.
export const confirmGrant = (base, grant, allow) => call(base, "confirm", grant, { allow });
