/**
 * The replace entry of the one order-entry door (docs/architecture.md, "The
 * order-entry door"; docs/order-lifecycle.md#replacing-an-order):
 * PATCH /orders/{client_order_id} replaces an open order at the broker
 * through the same steps as a new order (SubmitOrderUseCase): the strategy
 * scope and the id rules, the pre-trade checks on the new terms, the
 * write-ahead insert of the replacement (its own row, `replaces` = the old
 * order) with its audit rows in one unit of work, then the broker's replace
 * outside any transaction, within the broker budget as a submission
 * (SubmitOrderUseCase.send).
 *
 * Invariants:
 * - the old order's row is locked while the replacement is admitted: of two
 *   concurrent replaces one is written, the other finds it and gets 409
 *   ORDER_NOT_REPLACEABLE; nothing else is written for it;
 * - a replace that only takes risk off (../trading/order-replace.ts,
 *   `isRiskReducing`) passes without checks, under the kill switch too, like
 *   a partial cancel; any other is judged on its new terms against the
 *   exposure without the old order (the pair is one exposure, not two), the
 *   kill switch first. Until the broker confirms, other orders see the pair
 *   as the larger of its two open quantities (ExposureRepository);
 * - the broker's refusal leaves the old order as the broker reports it (a
 *   fill may have won the race) and ends the replacement `rejected`
 *   (audited); an ambiguous answer is a 202, resolved by the replacement's
 *   client_order_id like a submission's;
 * - DRY_RUN never reaches the broker: the replacement is recorded `dry_run`
 *   and the old order is left as it is.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ActorContext } from '../audit/audit-entry';
import { AuditRepository } from '../audit/audit.repository';
import { Principal } from '../auth/permission';
import { DomainError, InputValidationError, NotFoundError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { UnitOfWork } from '../infra/database/unit-of-work';
import { GatewayMetrics } from '../infra/metrics/gateway-metrics';
import { ExposureRepository, strategyLimitError, withoutReplacedPair } from '../orders/persistence/exposure.repository';
import { OrderRepository } from '../orders/persistence/order.repository';
import { Denial } from '../risk/pipeline/pre-trade-check';
import { openOrdersDenial } from '../risk/pipeline/pre-trade-checks';
import { PreTradeChecks } from '../risk/pipeline/pre-trade-checks.service';
import { differingTerms, NewOrder, Order } from '../trading/order';
import {
  assertReplaceable,
  chainOf,
  isRiskReducing,
  REPLACEABLE_STATUSES,
  replacementId,
  replacementTerms,
} from '../trading/order-replace';
import { ReplaceOrderCommand } from './replace-order.command';
import { DERIVED_ID_FORMAT, unavailable } from './entry-rules';
import { SubmitOrderResult, SubmitOrderUseCase } from './submit-order.use-case';

/** The orders table's limit on a client_order_id. */
const MAX_CLIENT_ORDER_ID = 48;

type Insert = { order: Order | null; created: boolean };

/** Thrown inside the admitting unit of work to roll the replacement's insert back: the checks refused it. */
class Refused extends Error {
  constructor(
    readonly denial: Denial,
    readonly draft: NewOrder,
  ) {
    super(denial.code);
  }
}

@Injectable()
export class ReplaceOrderUseCase {
  private readonly logger = new Logger('OrderEntry');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly door: SubmitOrderUseCase,
    private readonly orders: OrderRepository,
    private readonly exposure: ExposureRepository,
    private readonly uow: UnitOfWork,
    private readonly checks: PreTradeChecks,
    private readonly clock: Clock,
    private readonly metrics: GatewayMetrics,
    private readonly audit: AuditRepository,
  ) {}

  async execute(
    clientOrderId: string,
    cmd: ReplaceOrderCommand,
    principal: Principal,
    ctx: ActorContext,
  ): Promise<SubmitOrderResult> {
    const found = await this.orders.findByClientOrderId(clientOrderId);
    if (!found || !principal.canAccessStrategy(found.strategyId)) {
      throw new NotFoundError('ORDER_NOT_FOUND', `No order with client_order_id ${clientOrderId}`);
    }
    if (cmd.clientOrderId !== undefined && DERIVED_ID_FORMAT.test(cmd.clientOrderId)) {
      // The derived format names orders by their terms: a replacement never takes one.
      this.metrics.orderRejected('CLIENT_ORDER_ID_UNAVAILABLE');
      throw unavailable(cmd.clientOrderId);
    }
    // Refused early when plainly not replaceable (the same check is made again under the lock).
    assertReplaceable(found, []);
    const request = cmd.request(found);
    const { terms, changed } = replacementTerms(found, request);
    const riskReducing = isRiskReducing(found, terms);
    const dryRun = this.config.dryRun;
    const chain = chainOf(found);
    const base: NewOrder = {
      ...terms,
      clientOrderId: cmd.clientOrderId ?? replacementId(chain.root, chain.n + 1),
      status: dryRun ? 'dry_run' : 'pending_new',
      createdAt: this.clock.now(),
      metadata: {
        replace_chain: { root: chain.root, n: chain.n + 1 },
        replace: { risk_reducing: riskReducing, changed },
      },
      replaces: found.clientOrderId,
    };
    const checked = this.checks.enabled && !riskReducing;
    if (checked) {
      const early = this.checks.early();
      if (early) throw await this.checks.refusal(base, ctx, early);
    }
    const inputs = checked ? await this.checks.gather(base) : null;

    let outcome: { denial: Denial; draft: NewOrder } | { written: Insert; draft: NewOrder };
    try {
      outcome = await this.uow.run(async (tx) => {
        const old = await this.orders.lockForUpdate(tx, { clientOrderId: found.clientOrderId });
        if (!old) throw new Error(`order ${found.clientOrderId} vanished`);
        const replacements = await this.orders.findReplacements(tx, old.clientOrderId);
        const replay = cmd.clientOrderId ? replacements.find((r) => r.clientOrderId === cmd.clientOrderId) : undefined;
        if (replay && differingTerms(replay, base).length === 0)
          return { written: { order: null, created: false }, draft: base };
        assertReplaceable(old, replacements);
        // Terms judged against the order as locked (a fill may have moved its open quantity).
        const draft = await this.freeReplacementId(tx, { ...base, ...replacementTerms(old, request).terms }, cmd);
        // The insert counts the replacement in its symbol's exposure counter (a trigger) and holds that
        // row locked until the commit, as a new order's does (SubmitOrderUseCase.admit). Its strategy's
        // open-order slot is held to the limit plus the slot the old order gives back when it ends
        // `replaced` (the pair is one order).
        const written = await this.orders.insertWithAudit(
          draft,
          {
            action: 'order.accepted',
            actor: ctx.actor,
            requestId: ctx.requestId,
            details: {
              status: draft.status,
              dry_run: dryRun,
              qty: draft.qty,
              side: draft.side,
              order_type: draft.orderType,
              replaces: old.clientOrderId,
              changed,
              risk_reducing: riskReducing,
            },
          },
          tx,
        );
        if (written.created && checked && inputs) {
          // Live, the read counts the pair as the larger of its two open quantities (the replacement is
          // in it, inserted above); the replacement is judged against the exposure without the pair.
          const exposure = dryRun
            ? withoutReplacedPair(await this.exposure.read(draft.symbol, draft.strategyId), old, null)
            : withoutReplacedPair(
                await this.exposure.readHeld(
                  tx,
                  draft.symbol,
                  draft.strategyId,
                  this.checks.maxOpenOrdersPerStrategy + 1,
                ),
                old,
                draft.qty,
              );
          // Where the replacement could be reduce-only, the resting exit legs on its side count.
          const judged = await this.exposure.forReduceOnly(draft, exposure, dryRun ? undefined : tx);
          const denial = this.checks.decide(draft, inputs, judged);
          if (denial) throw new Refused(denial, draft);
        }
        if (written.created) {
          await this.audit.append(
            {
              action: 'order.replace_requested',
              actor: ctx.actor,
              requestId: ctx.requestId,
              clientOrderId: old.clientOrderId,
              strategyId: old.strategyId,
              symbol: old.symbol,
              details: { status: old.status, replacement: draft.clientOrderId, changed, risk_reducing: riskReducing },
            },
            tx,
          );
        }
        return { written, draft };
      });
    } catch (err) {
      const full = strategyLimitError(err);
      if (err instanceof Refused) outcome = { denial: err.denial, draft: err.draft };
      else if (full) {
        // The commit found the strategy's open orders past the limit (they grew since the count was read).
        outcome = {
          denial: openOrdersDenial(found.strategyId, full.openOrders, this.checks.maxOpenOrdersPerStrategy),
          draft: base,
        };
      } else if (err instanceof DomainError) throw err;
      else {
        this.logger.error(`replace of ${clientOrderId} failed: ${(err as Error).message}`);
        throw new DomainError(
          'unavailable',
          'SAFETY_STATE_UNAVAILABLE',
          'The replace could not be checked against the risk state and recorded (database unavailable); nothing was written, send it again later (cancels still pass)',
          { client_order_id: clientOrderId },
        );
      }
    }
    if ('denial' in outcome) throw await this.checks.refusal(outcome.draft, ctx, outcome.denial);
    const { order, created } = outcome.written;
    if (!created || !order) {
      // The caller's id is taken: the same replace again is answered with it; anything else is refused.
      const existing = await this.orders.findByClientOrderId(outcome.draft.clientOrderId);
      if (
        existing &&
        existing.replaces === found.clientOrderId &&
        differingTerms(existing, outcome.draft).length === 0
      ) {
        return {
          order: existing,
          created: false,
          pending: false,
          message: 'Replace already requested (idempotent replay)',
        };
      }
      this.metrics.orderRejected('CLIENT_ORDER_ID_UNAVAILABLE');
      throw unavailable(outcome.draft.clientOrderId);
    }
    this.metrics.orderStatus(order.status);
    if (dryRun)
      return { order, created: true, pending: false, message: 'Replace logged (DRY_RUN mode); the order is unchanged' };
    const { sent, result } = await this.door.send(order);
    if (sent?.outcome === 'rejected') {
      // The broker refused: the old order is as the broker reports it (a fill may have won the race).
      const old = (await this.orders.findByClientOrderId(found.clientOrderId)) ?? found;
      const reason = sent.error?.message ?? 'refused by the broker';
      if (!REPLACEABLE_STATUSES.has(old.status)) {
        throw new DomainError(
          'conflict',
          'ORDER_NOT_REPLACEABLE',
          `Order ${old.clientOrderId} cannot be replaced: it is ${old.status} at the broker (${reason}); the replacement ${order.clientOrderId} is rejected`,
          {
            client_order_id: old.clientOrderId,
            status: old.status,
            replacement: order.clientOrderId,
            replacement_status: sent.order.status,
          },
        );
      }
      throw new DomainError(
        'rejected',
        'REPLACE_REJECTED',
        `The broker refused the replace of ${old.clientOrderId} (${reason}); the order is unchanged and the replacement ${order.clientOrderId} is rejected`,
        {
          client_order_id: old.clientOrderId,
          status: old.status,
          replacement: order.clientOrderId,
          replacement_status: sent.order.status,
        },
      );
    }
    const message = sent?.outcome === 'acknowledged' ? 'Replace accepted by the broker' : result.message;
    return { ...result, message };
  }

  /** The draft under its final id: a caller's own, or the first `<root>-r<n>` not taken (a squatter only moves n on). */
  private async freeReplacementId(
    tx: Parameters<OrderRepository['exists']>[0],
    draft: NewOrder,
    cmd: ReplaceOrderCommand,
  ): Promise<NewOrder> {
    if (cmd.clientOrderId !== undefined) return draft;
    const { root } = draft.metadata.replace_chain as { root: string; n: number };
    let { n } = draft.metadata.replace_chain as { root: string; n: number };
    while (await this.orders.exists(tx, replacementId(root, n))) n += 1;
    const clientOrderId = replacementId(root, n);
    if (clientOrderId.length > MAX_CLIENT_ORDER_ID) {
      throw InputValidationError.field(
        'client_order_id',
        `is required here: the derived replacement id ${clientOrderId} would be longer than ${MAX_CLIENT_ORDER_ID} characters`,
      );
    }
    return { ...draft, clientOrderId, metadata: { ...draft.metadata, replace_chain: { root, n } } };
  }
}
