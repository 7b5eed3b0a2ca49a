// The live socket retries at once when the browser's network comes back, instead of waiting out a
// backoff that grew while it was down (a flapping connection would otherwise stay dark for seconds).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";

import { openSocket } from "../common/socket.js";

class FakeSocket extends EventTarget {
  static OPEN = 1;
  static made = [];
  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    FakeSocket.made.push(this);
  }
  fail() {
    const event = new Event("close");
    event.code = 1006;
    this.dispatchEvent(event);
  }
  close() {}
}

describe("socket reconnection", () => {
  beforeEach(() => {
    FakeSocket.made = [];
    globalThis.WebSocket = FakeSocket;
    globalThis.window = new EventTarget();
    mock.timers.enable({ apis: ["setTimeout"] });
  });
  afterEach(() => {
    mock.timers.reset();
    delete globalThis.WebSocket;
    delete globalThis.window;
  });

  const open = () =>
    openSocket({ url: "ws://t/x/", onOpen() {}, onMessage() {}, onFinalClose() {}, maxDelayMs: 10000 });

  it("connects at once when the network comes back, whatever the backoff", () => {
    const socket = open();
    for (let i = 0; i < 6; i++) {
      FakeSocket.made.at(-1).fail(); // offline: every attempt fails, the delay grows
      mock.timers.tick(10000);
    }
    FakeSocket.made.at(-1).fail();
    const attempts = FakeSocket.made.length;
    mock.timers.tick(100);
    assert.equal(FakeSocket.made.length, attempts); // still waiting out the backoff
    globalThis.window.dispatchEvent(new Event("online"));
    assert.equal(FakeSocket.made.length, attempts + 1);
    globalThis.window.dispatchEvent(new Event("online")); // a socket is already connecting: nothing more
    assert.equal(FakeSocket.made.length, attempts + 1);
    socket.close();
  });

  it("does nothing once closed on purpose", () => {
    const socket = open();
    socket.close();
    globalThis.window.dispatchEvent(new Event("online"));
    assert.equal(FakeSocket.made.length, 1);
  });
});
