import type { HttpAnswer, TestGateway } from './gateway.js';

/** The token the 3-D Secure page puts in its form (tests that skip the page use it directly). */
export const challengeToken = (gw: TestGateway, uid: string) => gw.app.vault.linkToken('challenge-form', uid);

/** Submits the 3-D Secure page's form as the browser would, token included unless the test replaces it. */
export function submitChallenge(
  gw: TestGateway,
  uid: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return gw.request('POST', `/process/${uid}`, undefined, {
    auth: null,
    raw: new URLSearchParams({ token: challengeToken(gw, uid), ...fields }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}
