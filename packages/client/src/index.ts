export { Gateway, type GatewayOptions } from './gateway.js';
export { AsyncGateway, AsyncHandle, type AsyncStatus, type WaitOptions } from './async.js';
export type { CallOptions } from './http.js';
export {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  GatewayError,
  NotFoundError,
  RateLimitError,
  StillProcessingError,
  ValidationError,
  WebhookVerificationError,
  type FieldErrors,
} from './errors.js';
export { verifyWebhook, type WebhookHeaders, type WebhookVerificationOptions } from './webhooks.js';
export type * from './types.js';
