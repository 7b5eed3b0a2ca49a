import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { answerUrl, resultText, sendAnswer } from "../widget/survey/api.js";

const URL = "https://desk.test/survey/MjA:1v:abc/answer/";

// A fetch that answers like the server: status and JSON body (or a body that is not JSON).
function server(status, body, calls = []) {
  const fetchFn = async (url, init) => {
    calls.push({ url, init });
    return {
      status,
      json: async () => {
        if (body === undefined) throw new SyntaxError("not JSON");
        return body;
      },
    };
  };
  return { fetchFn, calls };
}

describe("the end card's answer", () => {
  it("answers at the Tandem the widget came from, whatever address the link was built on", () => {
    const link = "http://127.0.0.1:8000/survey/MjA:1v:abc/";
    assert.equal(answerUrl("https://desk.test", link), URL);
    assert.equal(answerUrl("https://desk.test", link.slice(0, -1)), URL);
    assert.equal(answerUrl("https://acme.test/support", link), "https://acme.test/support/survey/MjA:1v:abc/answer/");
  });

  it("posts JSON without cookies or referrer", async () => {
    const { fetchFn, calls } = server(201, { detail: "Your answer helps the support team do better." });
    assert.deepEqual(await sendAnswer(URL, 4, "Clear", fetchFn), { ok: true, text: "Thank you" });
    const [{ url, init }] = calls;
    assert.equal(url, URL);
    assert.equal(init.method, "POST");
    assert.equal(init.headers["Content-Type"], "application/json");
    assert.deepEqual(JSON.parse(init.body), { stars: 4, comment: "Clear" });
    assert.equal(init.credentials, "omit");
    assert.equal(init.referrerPolicy, "no-referrer");
  });

  it("thanks once more when the session was already answered", () => {
    assert.deepEqual(resultText(409, { detail: "This session's survey has already been answered.", code: "answered" }), {
      ok: true,
      text: "Already answered, thank you",
    });
  });

  it("shows the server's words for a refusal and for field errors", () => {
    assert.deepEqual(resultText(409, { detail: "The survey opens when the session is over.", code: "not_ended" }), {
      ok: false,
      text: "The survey opens when the session is over.",
    });
    assert.deepEqual(resultText(410, { detail: "This survey link has expired.", code: "expired" }), {
      ok: false,
      text: "This survey link has expired.",
    });
    const both = resultText(400, {
      stars: ["Choose from 1 to 5 stars."],
      comment: ["Keep the comment under 2000 characters."],
    });
    assert.deepEqual(both, { ok: false, text: "Choose from 1 to 5 stars. Keep the comment under 2000 characters." });
  });

  it("says something useful when the server cannot be reached or answers without JSON", async () => {
    const offline = async () => {
      throw new TypeError("Failed to fetch");
    };
    assert.deepEqual(await sendAnswer(URL, 3, "", offline), {
      ok: false,
      text: "Support could not be reached. Try again.",
    });
    const proxy = server(502, undefined);
    assert.deepEqual(await sendAnswer(URL, 3, "", proxy.fetchFn), {
      ok: false,
      text: "The answer was not accepted (502). Try again.",
    });
  });
});
