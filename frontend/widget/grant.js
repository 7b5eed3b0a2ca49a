// Where the session grant lives between page loads of the same tab (multi-page forms).
export const GRANT_KEY = "tandem.grant";
