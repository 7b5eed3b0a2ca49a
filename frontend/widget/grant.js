// Where the session grant lives between page loads of the same tab (multi-page forms).
export const GRANT_KEY = "tandem.grant";
// The grant this tab's owner allowed on the page's own card. A stored grant is used without asking
// only while it equals GRANT_KEY's value: sessionStorage is per tab, so a new tab asks again.
export const CONFIRMED_KEY = "tandem.confirmed";

export function forgetGrant() {
  try {
    sessionStorage.removeItem(GRANT_KEY);
    sessionStorage.removeItem(CONFIRMED_KEY);
  } catch {
    // Storage disabled: the grant only lived in this page.
  }
}
