import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MASK,
  ibanValid,
  luhnValid,
  maskFieldValue,
  maskPatterns,
  maskText,
  maskTypedValue,
  maskedSelector,
} from "../widget/recorder/masking.js";

// Just enough of an element for the masking rules: tag, type, and whether a masked selector matches.
function fakeElement({ tagName = "INPUT", type = "text", masked = false } = {}) {
  return {
    tagName,
    getAttribute: (name) => (name === "type" ? type : null),
    closest: () => (masked ? {} : null),
  };
}

describe("checksums", () => {
  it("Luhn accepts real test card numbers and rejects a changed digit", () => {
    assert.ok(luhnValid("4111111111111111"));
    assert.ok(luhnValid("378282246310005"));
    assert.ok(!luhnValid("4111111111111112"));
  });
  it("IBAN mod-97", () => {
    assert.ok(ibanValid("DE89 3704 0044 0532 0130 00"));
    assert.ok(ibanValid("gb82west12345698765432"));
    assert.ok(!ibanValid("DE89 3704 0044 0532 0130 01"));
    assert.ok(!ibanValid("DE89 3704"));
  });
});

describe("maskPatterns", () => {
  const positives = {
    "card with spaces": "4111 1111 1111 1111",
    "card with dashes": "4111-1111-1111-1111",
    "13-digit card": "4222222222222",
    "15-digit Amex": "378282246310005",
    "19-digit card": "4111111111111111110",
    SSN: "123-45-6789",
    "Aadhaar plain": "234567890123",
    "Aadhaar spaced": "2345 6789 0123",
    "Aadhaar dashed": "2345-6789-0123",
    PAN: "ABCDE1234F",
    IBAN: "DE89 3704 0044 0532 0130 00",
    "IBAN compact": "GB82WEST12345698765432",
  };
  for (const [name, value] of Object.entries(positives)) {
    it(`masks a ${name}`, () => {
      assert.equal(maskPatterns(`paid with ${value}, thanks`), `paid with ${MASK}, thanks`);
    });
  }

  const negatives = {
    "Luhn-invalid card": "4111 1111 1111 1112",
    "12-digit non-card starting with 1": "123456789012",
    "SSN shape wrong": "123-456-789",
    "Aadhaar starting with 1": "1234 5678 9012",
    "Aadhaar mixed separators": "2345 6789-0123",
    "PAN too short": "ABCD1234F",
    "PAN inside a word": "XABCDE1234F",
    "IBAN bad checksum": "DE89 3704 0044 0532 0130 01",
    "order number": "Order 12345 shipped",
    "phone number": "+1 555 010 9999",
    "date": "2024-01-15",
  };
  for (const [name, value] of Object.entries(negatives)) {
    it(`leaves a ${name} alone`, () => assert.equal(maskPatterns(value), value));
  }

  it("replaces any identifier with the same six asterisks, whatever its length", () => {
    assert.equal(maskPatterns("4222222222222"), MASK);
    assert.equal(maskPatterns("GB82 WEST 1234 5698 7654 32"), MASK);
  });

  it("masks an IBAN followed by more words", () => {
    assert.equal(maskPatterns("DE89 3704 0044 0532 0130 00 is mine"), `${MASK} is mine`);
  });

  it("masks a card number that runs on into an expiry date", () => {
    assert.equal(maskPatterns("4111 1111 1111 1111 12/26"), `${MASK} 12/26`);
  });

  it("masks several identifiers in one text", () => {
    assert.equal(maskPatterns("SSN 123-45-6789 PAN ABCDE1234F"), `SSN ${MASK} PAN ${MASK}`);
  });
});

describe("maskTypedValue", () => {
  it("masks what could still become a card number or an IBAN while it is typed", () => {
    assert.equal(maskTypedValue("4111 11"), MASK);
    assert.equal(maskTypedValue("DE89 3704 0"), MASK);
    assert.equal(maskTypedValue("ABCDE12"), MASK);
  });
  it("keeps short numbers and ordinary words", () => {
    assert.equal(maskTypedValue("Flat 12, 221B Baker Street"), "Flat 12, 221B Baker Street");
    assert.equal(maskTypedValue("Ada Lovelace"), "Ada Lovelace");
  });
});

describe("maskFieldValue and maskText", () => {
  it("masks a masked field to six asterisks whatever the length", () => {
    const password = fakeElement({ type: "password", masked: true });
    assert.equal(maskFieldValue("x", password, "sel"), MASK);
    assert.equal(maskFieldValue("a much longer secret value", password, "sel"), MASK);
    assert.equal(maskFieldValue("", password, "sel"), "");
  });
  it("applies the typing rules to free-text fields only", () => {
    assert.equal(maskFieldValue("4111 11", fakeElement(), "sel"), MASK);
    assert.equal(maskFieldValue("2024-01-15", fakeElement({ type: "date" }), "sel"), "2024-01-15");
    assert.equal(maskFieldValue("Ada", fakeElement(), "sel"), "Ada");
  });
  it("masks text inside masked elements and patterns elsewhere", () => {
    assert.equal(maskText("Ada", fakeElement({ tagName: "SPAN", masked: true }), "sel"), MASK);
    assert.equal(maskText("Card 4111 1111 1111 1111", fakeElement({ tagName: "SPAN" }), "sel"), `Card ${MASK}`);
    assert.equal(maskText("  \n ", fakeElement({ tagName: "SPAN", masked: true }), "sel"), "  \n ");
  });
});

describe("maskedSelector", () => {
  it("always includes the built-in rules and adds the account's own", () => {
    const selector = maskedSelector([".account-secret", ""]);
    for (const part of ['input[type="password"]', '[autocomplete^="cc-"]', "[data-sensitive]", "[data-pii]", ".account-secret"]) {
      assert.ok(selector.split(",").includes(part), part);
    }
    assert.ok(!selector.endsWith(","));
  });
});
