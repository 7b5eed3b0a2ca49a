// Acme Home Loans: form state across pages (sessionStorage), inline validation, review summary.
(function () {
  "use strict";
  var STORE = "acme.application";
  // Never kept, not even for the tab: secrets and one-time values.
  var NOT_STORED = { password: 1, cc_number: 1, cc_exp: 1, cc_csc: 1, cc_name: 1, otp: 1 };

  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || "{}"); } catch (e) { return {}; }
  }
  function save(state) { sessionStorage.setItem(STORE, JSON.stringify(state)); }

  function errorFor(input) {
    return document.getElementById(input.id + "-error");
  }

  function showError(input, message) {
    var target = input.type === "radio" ? document.querySelector('input[name="' + input.name + '"]') : input;
    var box = errorFor(target);
    var group = input.type === "radio" ? document.querySelectorAll('input[name="' + input.name + '"]') : [input];
    Array.prototype.forEach.call(group, function (el) {
      if (message) { el.setAttribute("aria-invalid", "true"); } else { el.removeAttribute("aria-invalid"); }
      if (box) el.setAttribute("aria-describedby", box.id);
    });
    if (box) { box.textContent = message || ""; box.hidden = !message; }
  }

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = +digits[digits.length - 1 - i];
      if (i % 2) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return digits.length >= 13 && digits.length <= 19 && sum % 10 === 0;
  }

  function ageInYears(iso) {
    var born = new Date(iso + "T00:00:00"), now = new Date();
    var age = now.getFullYear() - born.getFullYear();
    var m = now.getMonth() - born.getMonth();
    if (m < 0 || (m === 0 && now.getDate() < born.getDate())) age--;
    return age;
  }

  // The reason a field is invalid, or "" when it is fine.
  function problem(input, form) {
    var message = input.getAttribute("data-error") || "Check this field.";
    var value = input.type === "checkbox" ? (input.checked ? "on" : "") : (input.value || "").trim();
    if (input.type === "radio") {
      value = form.querySelector('input[name="' + input.name + '"]:checked') ? "on" : "";
    }
    if (!value) return input.required ? message : "";
    if (input.type === "email" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) return message;
    var pattern = input.getAttribute("pattern");
    if (pattern && !new RegExp(pattern).test(value)) return message;
    var minLength = +input.getAttribute("minlength") || 0;
    if (value.length < minLength) return message;
    if (input.type === "number") {
      var n = +value, min = input.getAttribute("min");
      if (isNaN(n) || (min !== null && n < +min)) return message;
    }
    if (input.hasAttribute("data-min-age") && !(ageInYears(value) >= +input.getAttribute("data-min-age"))) return message;
    if (input.hasAttribute("data-luhn") && !luhn(value.replace(/[ -]/g, ""))) return message;
    var ratio = input.getAttribute("data-max-ratio");
    if (ratio) {
      var parts = ratio.split(":"), other = form.querySelector('[name="' + parts[0] + '"]');
      if (other && other.value && +value > +other.value * +parts[1]) return message;
    }
    return "";
  }

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.type !== "submit" && el.type !== "button" && el.type !== "hidden";
    });
  }

  function restore(form, state) {
    fields(form).forEach(function (el) {
      if (!(el.name in state)) return;
      if (el.type === "radio") el.checked = state[el.name] === el.value;
      else if (el.type === "checkbox") el.checked = !!state[el.name];
      else el.value = state[el.name];
    });
  }

  function remember(form, el) {
    if (NOT_STORED[el.name] || form.getAttribute("data-form") !== "application") return;
    var state = load();
    if (el.type === "radio") { if (el.checked) state[el.name] = el.value; }
    else if (el.type === "checkbox") state[el.name] = el.checked;
    else state[el.name] = el.value;
    save(state);
  }

  function wireForm(form) {
    var state = load();
    if (form.getAttribute("data-form") === "application") restore(form, state);
    var kyc = form.querySelector("#kyc-ref");
    function syncKyc() {
      // The KYC reference the back office expects: PAN and date of birth, in a hidden field.
      var pan = form.querySelector("#pan");
      if (kyc && pan) kyc.value = pan.value ? pan.value.toUpperCase() + "/" + (load().dob || "") : "";
    }
    syncKyc();
    form.addEventListener("input", function (event) {
      var el = event.target;
      if (!el.name) return;
      remember(form, el);
      if (el.getAttribute("aria-invalid") === "true" && !problem(el, form)) showError(el, "");
      syncKyc();
    });
    form.addEventListener("change", function (event) { if (event.target.name) remember(form, event.target); });
    form.addEventListener("focusout", function (event) {
      var el = event.target;
      if (el.name && el.value && el.type !== "radio" && el.type !== "checkbox") showError(el, problem(el, form));
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var firstBad = null, seen = {};
      fields(form).forEach(function (el) {
        if (el.type === "radio") { if (seen[el.name]) return; seen[el.name] = 1; }
        var message = problem(el, form);
        showError(el, message);
        if (message && !firstBad) firstBad = el;
      });
      if (firstBad) { firstBad.focus(); return; }
      if (form.getAttribute("data-form") === "login") {
        sessionStorage.setItem("acme.user", form.querySelector("#username").value.trim());
      }
      window.location.assign(form.getAttribute("data-next"));
    });
  }

  var SUMMARY = [
    ["Personal details", "/apply/personal", [["full_name", "Full name"], ["email", "Email"], ["phone", "Mobile"], ["dob", "Date of birth"]]],
    ["Address", "/apply/address", [["address_line1", "Address"], ["address_line2", "Area"], ["city", "City"], ["state", "State"], ["pin_code", "PIN code"]]],
    ["Property", "/apply/property", [["property_type", "Type"], ["property_value", "Value (₹)"], ["loan_amount", "Loan amount (₹)"], ["property_city", "City"]]],
    ["Income and identity", "/apply/income", [["employment", "Employment"], ["annual_income", "Annual income (₹)"], ["pan", "PAN"], ["aadhaar", "Aadhaar"], ["bank_account", "Salary account"], ["ifsc", "IFSC"], ["overseas_iban", "Overseas IBAN"]]],
  ];
  // What a careful site shows back: the last four digits of national ids and account numbers.
  var LAST_FOUR = { aadhaar: 1, bank_account: 1 };

  function renderReview(box) {
    var state = load();
    SUMMARY.forEach(function (section) {
      var h = document.createElement("h2");
      h.innerHTML = section[0] + ' <a class="edit" href="' + section[1] + '">Edit</a>';
      var dl = document.createElement("dl");
      section[2].forEach(function (pair) {
        var value = state[pair[0]];
        if (value === undefined || value === "") return;
        value = String(value);
        if (LAST_FOUR[pair[0]]) value = "•••• " + value.replace(/\D/g, "").slice(-4);
        if (pair[0] === "pan" || pair[0] === "ifsc") value = value.toUpperCase();
        var dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.textContent = pair[1];
        dd.textContent = value;
        dd.id = "review-" + pair[0].replace(/_/g, "-");
        dl.appendChild(dt);
        dl.appendChild(dd);
      });
      box.appendChild(h);
      box.appendChild(dl);
    });
  }

  function emi() {
    var p = +document.getElementById("calc-amount").value;
    var r = +document.getElementById("calc-rate").value / 1200;
    var n = +document.getElementById("calc-years").value * 12;
    var out = document.getElementById("calc-emi");
    if (!(p > 0 && r > 0 && n > 0)) { out.textContent = "–"; return; }
    var value = (p * r * Math.pow(1 + r, n)) / (Math.pow(1 + r, n) - 1);
    out.textContent = "₹" + Math.round(value).toLocaleString("en-IN");
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-form]"), wireForm);
    var review = document.querySelector("[data-review]");
    if (review) renderReview(review);
    var tail = document.querySelector("[data-phone-tail]");
    if (tail) tail.textContent = (load().phone || "").replace(/\D/g, "").slice(-4) || "…";
    var first = document.querySelector("[data-first-name]");
    if (first && load().full_name) first.textContent = ", " + load().full_name.split(" ")[0];
    var user = sessionStorage.getItem("acme.user");
    var login = document.querySelector("[data-login-link]");
    if (user && login) { login.textContent = "Hi, " + user; login.setAttribute("href", "/apply/review"); }
    if (document.getElementById("calc-emi")) {
      ["calc-amount", "calc-rate", "calc-years"].forEach(function (id) { document.getElementById(id).addEventListener("input", emi); });
      emi();
    }
  });
})();
