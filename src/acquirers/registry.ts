import type { Shop } from '../domain/shop.js';
import type { AcquirerConnector } from './connector.js';

/**
 * A stored shop names a connector this gateway does not have (a connector removed from the build, or a row
 * written by another version). Its requests fail with this rather than reach another bank: sending a
 * shop's card operations to the sandbox would answer "approved" for money nobody moves.
 */
export class UnknownConnectorError extends Error {
  constructor(shopId: number, connector: string) {
    super(`shop ${shopId} names the acquirer connector "${connector}", which this gateway does not have`);
  }
}

/** The acquirer connectors of this gateway, keyed by the name a shop row stores in `acquirer`. */
export class AcquirerRegistry {
  private readonly connectors: ReadonlyMap<string, AcquirerConnector>;

  constructor(connectors: readonly AcquirerConnector[]) {
    this.connectors = new Map(connectors.map((connector) => [connector.name, connector]));
  }

  /** The names a shop may be given (operator's create and update check against these). */
  get names(): string[] {
    return [...this.connectors.keys()];
  }

  connectorFor(shop: Pick<Shop, 'id' | 'acquirer'>): AcquirerConnector {
    const connector = this.connectors.get(shop.acquirer);
    if (!connector) throw new UnknownConnectorError(shop.id, shop.acquirer);
    return connector;
  }
}
