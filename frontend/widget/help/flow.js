// The help flow's states, DOM-free (tested in Node with a fake server and clock):
//   asking → sending → waiting → taken | expired | cancelled | ended
// with "refused" for a request the server will not take (bad signature, unknown user, ...) and
// "asking" again, with an error, when Tandem cannot be reached. The card renders each state.

export const MESSAGES = {
  waiting: "Waiting for an agent…",
  offline: "Support could not be reached. Nothing was shared. Try again.",
  refused: "Help is not available from this page right now. Nothing was shared.",
  cancelled: "Your request was cancelled. Nothing was shared.",
  ended: "The session has already ended.",
  expired: "No agent was free in time.",
};

export function createFlow({ api, request, onChange, setTimer = setTimeout, clearTimer = clearTimeout }) {
  let state = "asking";
  let url = "";
  let pollMs = 4000;
  let timer = null;
  let misses = 0;

  const go = (next, extra = {}) => {
    state = next;
    onChange({ state, ...extra });
  };
  const schedule = () => {
    timer = setTimer(poll, pollMs);
  };

  async function poll() {
    timer = null;
    if (state !== "waiting") return;
    let answer;
    try {
      answer = await api.status(url);
    } catch {
      answer = null;
    }
    if (state !== "waiting") return; // cancelled meanwhile
    const body = (answer && answer.body) || {};
    if (!answer || answer.status >= 500 || answer.status === 429) {
      // A dropped poll is retried; a page that stays offline keeps waiting until the server's expiry.
      misses += 1;
      return schedule();
    }
    misses = 0;
    if (answer.status >= 400) return go("refused", { message: MESSAGES.refused });
    if (body.state === "waiting") return schedule();
    if (body.state === "taken") {
      return body.grant ? go("taken", { grant: body.grant, agent: body.agent || "" }) : go("ended", { message: MESSAGES.ended });
    }
    if (body.state === "expired") return go("expired", { message: body.message || MESSAGES.expired });
    return go("cancelled", { message: MESSAGES.cancelled });
  }

  return {
    get state() {
      return state;
    },
    get misses() {
      return misses;
    },
    // The customer pressed Allow with their choices ({mode, recording}).
    async allow(consent) {
      if (state !== "asking") return;
      go("sending");
      let answer;
      try {
        answer = await api.ask({ ...request, consent });
      } catch {
        return go("asking", { error: MESSAGES.offline });
      }
      if (answer.status >= 500) return go("asking", { error: MESSAGES.offline });
      if (answer.status !== 201) return go("refused", { message: (answer.body && answer.body.detail) || MESSAGES.refused });
      url = answer.body.status_url;
      pollMs = Math.max(1000, Number(answer.body.poll_ms) || pollMs);
      go("waiting", { message: MESSAGES.waiting });
      schedule();
    },
    // Deny on the card: nothing was sent, nothing is.
    deny() {
      if (state === "asking") go("closed");
    },
    // Cancel while waiting. An agent who took it meanwhile wins: then the page joins.
    async cancel() {
      if (state !== "waiting") return;
      if (timer) clearTimer(timer);
      timer = null;
      go("cancelling");
      let answer = null;
      try {
        answer = await api.cancel(url);
      } catch {
        answer = null;
      }
      if (answer && answer.status === 409) {
        state = "waiting";
        return poll();
      }
      go("cancelled", { message: MESSAGES.cancelled });
    },
  };
}
