import { Inject, Injectable } from '@nestjs/common';
import { ActorContext } from '../audit/audit-entry';
import { AuditRepository } from '../audit/audit.repository';
import { SIM_BROKER } from '../broker/broker.module';
import type { SimBrokerClient } from '../broker/sim/sim-broker.client';
import { DomainError, InputValidationError } from '../common/domain-error';
import { parseSymbol, SYMBOL_PROBLEM } from '../common/symbol';
import { MARKET_DATA, type MarketDataProvider } from '../market-data/market-data.port';

export interface SimPrices {
  walk: { enabled: boolean; seed: string; volatilityBps: string; stepMs: number };
  defaultPrice: string;
  prices: Array<{ symbol: string; price: string; step: number }>;
}

/**
 * The sim exchange's prices for operators (docs/simulator.md#operator-endpoints):
 * read them, or set one (audited with the operator). Only with BROKER=sim:
 * otherwise 404 SIMULATOR_NOT_ACTIVE. Orders resting on the symbol match
 * against the new price as on any move.
 */
@Injectable()
export class SimPricesUseCase {
  constructor(
    @Inject(SIM_BROKER) private readonly sim: SimBrokerClient | null,
    private readonly audit: AuditRepository,
    @Inject(MARKET_DATA) private readonly marketData: MarketDataProvider,
  ) {}

  list(): SimPrices {
    const sim = this.active();
    return { walk: sim.priceWalk, defaultPrice: sim.defaultPrice, prices: sim.prices() };
  }

  async set(
    cmd: { symbol: string; price: string; operator: string },
    ctx: ActorContext,
  ): Promise<{ symbol: string; price: string; step: number }> {
    const sim = this.active();
    const symbol = parseSymbol(cmd.symbol);
    if (symbol === null) throw InputValidationError.field('symbol', SYMBOL_PROBLEM);
    const previous = sim.prices().find((p) => p.symbol === symbol)?.price ?? null;
    sim.setPrice(symbol, cmd.price);
    // Marks, checks and arrival prices see the new price at once, not after the cache's TTL.
    this.marketData.invalidate?.(symbol);
    await this.audit.append({
      action: 'sim.price_set',
      actor: cmd.operator,
      symbol,
      requestId: ctx.requestId ?? null,
      details: { api_key: ctx.actor, previous_price: previous, price: cmd.price },
    });
    return sim.prices().find((p) => p.symbol === symbol)!;
  }

  private active(): SimBrokerClient {
    if (this.sim === null) {
      throw new DomainError('not_found', 'SIMULATOR_NOT_ACTIVE', 'The sim broker is not in use (BROKER is not sim)');
    }
    return this.sim;
  }
}
