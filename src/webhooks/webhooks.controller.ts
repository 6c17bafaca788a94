import { Controller, Headers, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { RequestAuthenticator } from '../auth/request-authenticator';
import { Public } from '../common/public-route';
import { parseAlpacaWebhook, WebhookPayloadError } from '../broker/alpaca/alpaca-webhook';
import { AuditRepository } from '../audit/audit.repository';
import { ConflictError, ForbiddenError, InputValidationError, UnauthenticatedError } from '../common/domain-error';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ApiErrors } from '../common/openapi';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { logFields } from '../infra/http/request-observer.middleware';
import { OrderRepository } from '../orders/persistence/order.repository';
import { ApplyOrderUpdateUseCase } from '../orders/use-cases/apply-order-update.use-case';
import { matchWebhookOrder } from './webhook-order-match';
import { verifyWebhookSignature } from './webhook-signature';

/**
 * Broker order events (docs/api.md#webhooks). With WEBHOOK_SECRET set the HMAC
 * signature is the credential and is required; without it the caller needs an
 * API key with MANAGE_RECONCILIATION. Replays are harmless: updates are applied
 * idempotently. The payload is validated like any body, and both of its ids
 * must name the same stored order (./webhook-order-match.ts), else 409
 * WEBHOOK_ID_MISMATCH, audited, and nothing is applied (docs/security.md#webhooks).
 */
const WEBHOOK_EXAMPLES = {
  trade_update: {
    summary: "Alpaca trade update (a trade_updates message's data)",
    value: {
      event: 'fill',
      execution_id: '7f3c2b9e-0d1a-4c55-9a3e-3b1f2a4c5d6e',
      timestamp: '2026-01-02T15:00:01.123456Z',
      price: '150.25',
      qty: '10',
      position_qty: '10',
      order: {
        id: '61e69015-8549-4bfd-b9c3-01e75843f47d',
        client_order_id: '374ec9826a7cfdf889ffad0f',
        symbol: 'AAPL',
        side: 'buy',
        type: 'market',
        time_in_force: 'day',
        qty: '10',
        filled_qty: '10',
        filled_avg_price: '150.25',
        status: 'filled',
        created_at: '2026-01-02T15:00:00.000000Z',
        updated_at: '2026-01-02T15:00:01.123456Z',
      },
    },
  },
  minimal: {
    summary: 'The minimal body (no execution id: deduped on the cumulative filled_qty)',
    value: {
      event: 'fill',
      order: {
        id: 'broker123',
        client_order_id: '9467f0b30ecb46c52247b400',
        symbol: 'AAPL',
        side: 'buy',
        qty: '10',
        filled_qty: '10',
        filled_avg_price: '150.25',
        status: 'filled',
      },
      timestamp: '2025-10-17T16:30:05Z',
    },
  },
};

@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly authenticator: RequestAuthenticator,
    private readonly applyUpdate: ApplyOrderUpdateUseCase,
    private readonly orderRepo: OrderRepository,
    private readonly audit: AuditRepository,
  ) {}

  @Post('orders')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: "Broker order event (a trade_updates message's data)" })
  @ApiHeader({
    name: 'X-Alpaca-Signature',
    required: false,
    description: 'sha256=<hex HMAC of the raw body> (or the bare hex); required when WEBHOOK_SECRET is set',
  })
  @ApiBody({
    description: "A trade_updates message's data; the original design's minimal body is accepted too.",
    schema: { type: 'object', required: ['event', 'order'], additionalProperties: true },
    examples: WEBHOOK_EXAMPLES,
  })
  @ApiErrors('PERMISSION_DENIED')
  @ApiResponse({ status: 200, description: '{status, outcome, client_order_id}' })
  @ApiResponse({ status: 401, type: ErrorResponseDto, description: 'Bad or missing signature (or key)' })
  @ApiResponse({
    status: 409,
    type: ErrorResponseDto,
    description: 'WEBHOOK_ID_MISMATCH: the two ids name different orders',
  })
  @ApiResponse({ status: 422, type: ErrorResponseDto, description: 'VALIDATION_FAILED: every bad field is named' })
  async orders(
    @Req() req: Request & { rawBody?: Buffer; id?: unknown },
    @Headers('x-alpaca-signature') signature: string | undefined,
  ): Promise<{ status: string; outcome: string; client_order_id: string }> {
    await this.authorize(req, signature);
    let update;
    try {
      update = parseAlpacaWebhook(req.body);
    } catch (err) {
      if (err instanceof WebhookPayloadError) throw new InputValidationError(err.fields);
      throw err;
    }
    const sent = { clientOrderId: update.order.clientOrderId, brokerOrderId: update.order.id };
    logFields(req.res!).clientOrderId = sent.clientOrderId;
    const [byClientId, byBrokerId] = await Promise.all([
      this.orderRepo.findByClientOrderId(sent.clientOrderId),
      this.orderRepo.findByBrokerOrderId(sent.brokerOrderId),
    ]);
    const match = matchWebhookOrder(sent, byClientId, byBrokerId);
    if (match.kind === 'unknown_order') {
      return { status: 'ok', outcome: 'unknown_order', client_order_id: sent.clientOrderId };
    }
    if (match.kind === 'mismatch') {
      await this.audit.append({
        action: 'webhook.id_mismatch',
        actor: 'webhook',
        clientOrderId: byClientId?.clientOrderId ?? null,
        reasonCode: 'WEBHOOK_ID_MISMATCH',
        requestId: req.id === undefined ? null : String(req.id),
        details: {
          event: update.event,
          client_order_id: sent.clientOrderId,
          broker_order_id: sent.brokerOrderId,
          stored: match.stored,
        },
      });
      throw new ConflictError(
        'WEBHOOK_ID_MISMATCH',
        'client_order_id and order.id do not name the same order; nothing was applied',
        { client_order_id: sent.clientOrderId, broker_order_id: sent.brokerOrderId },
      );
    }
    // The order found by client_order_id carries this broker id or none yet: the update reaches it by that id.
    const result = await this.applyUpdate.apply({
      source: 'webhook',
      order: update.order,
      at: update.at,
      execution: update.execution,
    });
    return { status: 'ok', outcome: result.outcome, client_order_id: match.clientOrderId };
  }

  private async authorize(req: Request & { rawBody?: Buffer }, signature: string | undefined): Promise<void> {
    if (this.config.webhookSecret) {
      if (!verifyWebhookSignature(req.rawBody ?? Buffer.alloc(0), signature, this.config.webhookSecret)) {
        throw new UnauthenticatedError('INVALID_SIGNATURE', 'X-Alpaca-Signature is missing or does not match the body');
      }
      return;
    }
    // Through the authenticator, so a miss here counts against the address like anywhere else.
    const who = await this.authenticator.authenticate(req);
    const principal = who.kind === 'valid' ? who.principal : null;
    if (!principal) {
      throw new UnauthenticatedError('UNAUTHENTICATED', 'Without WEBHOOK_SECRET, webhooks need an API key');
    }
    if (!principal.has('MANAGE_RECONCILIATION')) {
      throw new ForbiddenError('PERMISSION_DENIED', 'This API key lacks the permission(s): MANAGE_RECONCILIATION');
    }
  }
}
