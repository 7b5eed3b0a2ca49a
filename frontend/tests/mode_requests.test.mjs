import assert from "node:assert/strict";
import { it } from "node:test";
import { requestStepText } from "../console/requests.js";

const LABELS = { guided: "Guidance", controlled: "Control (each step approved)", full: "Full control" };

it("says a manager was asked, not the customer, while Full control waits for approval", () => {
  const text = requestStepText({ step: "asked_manager", mode: "full" }, LABELS);
  assert.equal(text, "Asked a manager to approve Full control");
  assert.doesNotMatch(text, /customer/);
});

it("follows a Full control request through the manager and the customer", () => {
  const steps = ["asked_manager", "manager_approved", "customer_allowed"];
  assert.deepEqual(
    steps.map((step) => requestStepText({ step, mode: "full" }, LABELS)),
    [
      "Asked a manager to approve Full control",
      "A manager approved; asking the customer",
      "The customer allowed Full control",
    ],
  );
  assert.equal(requestStepText({ step: "manager_declined", mode: "full" }, LABELS), "A manager declined Full control");
  assert.equal(requestStepText({ step: "customer_declined", mode: "full" }, LABELS), "The customer declined Full control");
});

it("says the customer was asked directly for modes that need no manager", () => {
  assert.equal(
    requestStepText({ step: "asked_customer", mode: "controlled" }, LABELS),
    "Asked the customer for Control (each step approved)",
  );
  assert.equal(requestStepText({ step: "cancelled", mode: "full" }, LABELS), "The request for Full control was cancelled");
});

it("ignores steps it does not know and survives a missing label", () => {
  assert.equal(requestStepText({ step: "toString", mode: "full" }, LABELS), null);
  assert.equal(requestStepText({ step: "later", mode: "full" }, LABELS), null);
  assert.equal(requestStepText(null, LABELS), null);
  assert.equal(requestStepText({ step: "asked_customer", mode: "view_only" }), "Asked the customer for view only");
});
