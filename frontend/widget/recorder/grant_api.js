// The two REST calls the customer's page makes, authenticated by the grant alone (no cookies).

// Refreshes the grant (it expires unless the page keeps it alive) and learns its session id.
// Resolves to {sessionId, refreshInMs}, or null when the server refuses the grant; rejects when
// the server cannot be reached.
export async function refreshGrant(base, grant) {
  const response = await fetch(`${base}/api/cobrowse/grants/refresh/`, {
    method: "POST",
    headers: { "X-Tandem-Grant": grant },
    credentials: "omit",
  });
  if (response.status === 401 || response.status === 403) return null;
  if (!response.ok) throw new Error(`grant refresh failed: ${response.status}`);
  const body = await response.json();
  // Half the remaining lifetime, within bounds that tolerate a skewed customer clock.
  const remainingMs = Date.parse(body.expires_at) - Date.now();
  const refreshInMs = Math.min(5 * 60000, Math.max(15000, remainingMs / 2 || 0));
  return { sessionId: body.session, refreshInMs };
}

export function revokeSession(base, sessionId, grant) {
  return fetch(`${base}/api/cobrowse/sessions/${encodeURIComponent(sessionId)}/revoke/`, {
    method: "POST",
    headers: { "X-Tandem-Grant": grant },
    credentials: "omit",
    keepalive: true,
  }).catch(() => {});
}

// The customer lowers the control mode from the badge (never raises it: that needs a prompt).
export function lowerMode(base, sessionId, grant, mode) {
  return fetch(`${base}/api/cobrowse/sessions/${encodeURIComponent(sessionId)}/lower/`, {
    method: "POST",
    headers: { "X-Tandem-Grant": grant, "Content-Type": "application/json" },
    credentials: "omit",
    body: JSON.stringify({ mode }),
  }).catch(() => {});
}
