// Request signing for the provisioning API: HMAC-SHA256 with a shared secret over
//   <METHOD>\n<path>\n<timestamp>\n<nonce>\n<hex sha256 of the body>
// sent as `x-slbap-timestamp: <unix seconds>`, `x-slbap-nonce: <8-64 of A-Z a-z 0-9 - _>` and
// `x-slbap-signature: v1=<hex>`. The server compares in constant time, accepts timestamps within a
// window (default 300 s either way) and refuses a nonce it has already seen inside that window (a
// replay; the nonce lets a client send the same request twice in one second). The replay memory is per
// function instance; the window bounds what a second instance could accept, and every endpoint is
// idempotent besides.

import { timingSafeEqual } from 'node:crypto';
import { NONCE_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from '../cloud/request-signing';
import { HttpError } from './http';

export {
  NONCE_HEADER,
  SIGNATURE_HEADER,
  type SignedParts,
  sign,
  signedHeaders,
  stringToSign,
  TIMESTAMP_HEADER,
} from '../cloud/request-signing';

export const DEFAULT_WINDOW_SECONDS = 300;
/** secrets shorter than this are refused at start-up: they can be guessed offline from one request */
export const MIN_SECRET_LENGTH = 32;

export interface Verifier {
  /** Throws a 401 HttpError unless the request is signed, fresh and not a replay. */
  verify(request: { method: string; path: string; headers: Record<string, string>; body: Buffer }): void;
}

export function createVerifier(options: {
  secret: string;
  now: () => Date;
  windowSeconds?: number;
}): Verifier {
  if (options.secret.length < MIN_SECRET_LENGTH)
    throw new Error(`the API secret must be at least ${MIN_SECRET_LENGTH} characters`);
  const window = options.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  /** nonce -> when it stops being acceptable anyway (epoch seconds) */
  const seen = new Map<string, number>();
  const unauthorized = (message: string) => new HttpError(401, 'Unauthorized', message);

  return {
    verify(req) {
      const timestamp = req.headers[TIMESTAMP_HEADER];
      const nonce = req.headers[NONCE_HEADER];
      const signature = req.headers[SIGNATURE_HEADER];
      if (!timestamp || !nonce || !signature)
        throw unauthorized(
          `${TIMESTAMP_HEADER}, ${NONCE_HEADER} and ${SIGNATURE_HEADER} headers are required`,
        );
      if (!/^\d{1,12}$/.test(timestamp)) throw unauthorized(`${TIMESTAMP_HEADER}: must be unix seconds`);
      if (!/^[A-Za-z0-9_-]{8,64}$/.test(nonce))
        throw unauthorized(`${NONCE_HEADER}: must be 8-64 letters, digits, - or _`);
      const now = Math.floor(options.now().getTime() / 1000);
      const ts = Number(timestamp);
      if (Math.abs(now - ts) > window)
        throw unauthorized(`${TIMESTAMP_HEADER}: outside the ${window} s window (check the client clock)`);
      const expected = Buffer.from(
        sign(options.secret, { method: req.method, path: req.path, timestamp, nonce, body: req.body }),
      );
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw unauthorized(`${SIGNATURE_HEADER}: does not match the request`);
      for (const [n, until] of seen) if (until < now) seen.delete(n);
      if (seen.has(nonce)) throw unauthorized(`${NONCE_HEADER}: already used (replay)`);
      seen.set(nonce, ts + window);
    },
  };
}
