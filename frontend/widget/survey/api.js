// The end card's one call: the answer, to the survey link's JSON endpoint. The token in the link is
// the only credential (no cookies); nothing of the page goes along, not even a referrer.

export const MAX_COMMENT = 2000;

// What the card says for a response: {ok, text}. Field errors (400) come as {field: [messages]},
// refusals as {detail, code}.
export function resultText(status, body) {
  if (status === 201 || status === 200) return { ok: true, text: "Thank you" };
  if (status === 409 && body && body.code === "answered") return { ok: true, text: "Already answered, thank you" };
  if (body && typeof body.detail === "string") return { ok: false, text: body.detail };
  const fields = body && typeof body === "object" ? Object.values(body).flat().filter((m) => typeof m === "string") : [];
  return { ok: false, text: fields.join(" ") || `The answer was not accepted (${status}). Try again.` };
}

// The answer goes to the Tandem this widget was loaded from (``base``, as every widget call does),
// at the survey link's token: the link itself is built on the deployment's public address.
export function answerUrl(base, link) {
  const token = String(link).split("/").filter(Boolean).pop() || "";
  return `${base}/survey/${token}/answer/`;
}

export async function sendAnswer(endpoint, stars, comment, fetchFn = fetch) {
  let response;
  try {
    response = await fetchFn(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ stars, comment }),
      credentials: "omit",
      referrerPolicy: "no-referrer",
      cache: "no-store",
    });
  } catch {
    return { ok: false, text: "Support could not be reached. Try again." };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  return resultText(response.status, body);
}
