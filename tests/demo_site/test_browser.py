"""Walk the loan application in real Chromium: validation, state across pages, the review page."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def page(browser, demo_url):
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    page = context.new_page()
    # The widget loader is built elsewhere: here it 404s, and the site must not care.
    loader_requests: list[str] = []

    def loader_404(route):
        loader_requests.append(route.request.url)
        route.fulfill(status=404, body="not found")

    page.route("**/static/dist/tandem-loader.js", loader_404)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.loader_requests = loader_requests
    page.errors = errors
    yield page
    context.close()


def test_walk_the_five_steps_to_review(page, demo_url):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{demo_url}/")
    page.click("#start-application")
    page.wait_for_url("**/apply/personal")

    # Step 1: an empty submit shows inline errors first.
    page.click("#continue")
    assert page.get_attribute("#full-name", "aria-invalid") == "true"
    assert page.inner_text("#full-name-error") == "Enter your full name."
    page.fill("#full-name", "Priya Raman")
    page.fill("#email", "priya.raman@example.in")
    page.fill("#phone", "+91 98765 43210")
    page.fill("#dob", "1990-04-12")
    page.click("#continue")
    page.wait_for_url("**/apply/address")

    # Step 2: a five-digit PIN code is refused with an inline, accessible error.
    page.fill("#address-line1", "Flat 12B, Lakeview Residency, 4th Cross Road")
    page.fill("#city", "Bengaluru")
    page.select_option("#state", "Karnataka")
    page.fill("#pin-code", "56001")
    page.click("#continue")
    assert page.url.endswith("/apply/address")
    assert page.get_attribute("#pin-code", "aria-invalid") == "true"
    assert page.get_attribute("#pin-code", "aria-describedby") == "pin-code-error"
    assert page.is_visible("#pin-code-error")
    assert page.inner_text("#pin-code-error") == "Enter a valid 6-digit PIN code."
    page.screenshot(path=str(ARTIFACTS / "demo-site-pin-error.png"), full_page=True)
    page.fill("#pin-code", "560001")
    assert page.get_attribute("#pin-code", "aria-invalid") is None  # cleared as soon as it is valid
    page.click("#continue")
    page.wait_for_url("**/apply/property")

    # Step 3.
    page.check("#property-type-apartment")
    page.fill("#property-value", "9500000")
    page.fill("#loan-amount", "7500000")
    page.fill("#property-city", "Bengaluru")
    page.click("#continue")
    page.wait_for_url("**/apply/income")

    # Step 4: identity numbers, one of them (PAN) without any masking markup.
    page.select_option("#employment", "salaried")
    page.fill("#annual-income", "2400000")
    page.fill("#pan", "abcde1234f")
    page.fill("#aadhaar", "2345 6789 0123")
    page.fill("#bank-account", "50100012345678")
    page.fill("#ifsc", "hdfc0001234")
    page.fill("#overseas-iban", "GB82 WEST 1234 5698 7654 32")
    assert page.input_value("#kyc-ref") == "ABCDE1234F/1990-04-12"  # the hidden field the site fills
    page.click("#continue")
    page.wait_for_url("**/apply/review")

    # Step 5: the answers came across four page loads through sessionStorage.
    assert page.inner_text("#review-full-name") == "Priya Raman"
    assert page.inner_text("#review-pin-code") == "560001"
    assert page.inner_text("#review-pan") == "ABCDE1234F"
    assert page.inner_text("#review-aadhaar") == "•••• 0123"
    assert page.inner_text("#review-overseas-iban") == "GB82 WEST 1234 5698 7654 32"
    assert page.inner_text("#card-on-file") == "4111 1111 1111 1111"
    assert page.get_attribute(".step-current", "aria-current") == "step"
    assert "Review" in page.inner_text(".step-current")
    page.screenshot(path=str(ARTIFACTS / "demo-site-review.png"), full_page=True)

    # Going back keeps the answers.
    page.click("a.edit[href='/apply/address']")
    page.wait_for_url("**/apply/address")
    assert page.input_value("#pin-code") == "560001"
    assert page.input_value("#state") == "Karnataka"

    assert page.loader_requests, "every page asks for the widget loader"
    assert page.loader_requests[0] == "http://tandem.test:8123/static/dist/tandem-loader.js"
    assert page.errors == []


def test_payment_and_otp_validate_and_finish(page, demo_url):
    page.goto(f"{demo_url}/apply/payment")
    page.fill("#cc-name", "PRIYA RAMAN")
    page.fill("#cc-number", "4111 1111 1111 1112")
    page.fill("#cc-exp", "13/29")
    page.fill("#cc-csc", "123")
    page.click("#pay")
    assert page.inner_text("#cc-number-error") == "Enter a valid card number."
    assert page.inner_text("#cc-exp-error") == "Enter the expiry as MM/YY."
    page.fill("#cc-number", "4111 1111 1111 1111")
    page.fill("#cc-exp", "12/29")
    page.click("#pay")
    page.wait_for_url("**/apply/verify")
    page.fill("#otp", "12345")
    page.click("#verify")
    assert page.get_attribute("#otp", "aria-invalid") == "true"
    page.fill("#otp", "482913")
    page.click("#verify")
    page.wait_for_url("**/apply/done")
    assert page.inner_text("#reference") == "AHL-2025-004817"
    # Card data and codes never reach sessionStorage.
    stored = page.evaluate("JSON.stringify(sessionStorage)")
    assert "4111" not in stored and "482913" not in stored and "123" not in stored.replace("1234", "")
    assert page.errors == []


def test_login_refuses_a_short_password_then_continues(page, demo_url):
    page.goto(f"{demo_url}/login")
    page.fill("#username", "priya.raman@example.in")
    page.fill("#password", "short")
    page.click("#login-submit")
    assert page.inner_text("#password-error") == "Enter your password (at least 8 characters)."
    page.fill("#password", "correct horse battery")
    page.click("#login-submit")
    page.wait_for_url("**/apply/personal")
    assert page.inner_text("[data-login-link]") == "Hi, priya.raman@example.in"
    assert "correct horse" not in page.evaluate("JSON.stringify(sessionStorage)")


def test_the_phone_pattern_is_one_chromium_checks(page, demo_url):
    """An invalid pattern is ignored by the browser: a wrong number would then pass its check."""
    page.goto(f"{demo_url}/apply/personal")
    phone = page.locator("#phone")
    for value, mismatch in (("12345", True), ("+91 98765 43210", False), ("98765-43210", False)):
        phone.fill(value)
        assert phone.evaluate("el => el.validity.patternMismatch") is mismatch, value
