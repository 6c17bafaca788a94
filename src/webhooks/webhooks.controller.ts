import { Controller, Headers, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { presentedKey } from '../auth/api-key.guard';
import { ApiKeyService } from '../auth/api-key.service';
import { Public } from '../common/public-route';
import { parseAlpacaWebhook, WebhookPayloadError } from '../broker/alpaca/alpaca-webhook';
import { ForbiddenError, InputValidationError, UnauthenticatedError } from '../common/domain-error';
import { ErrorResponseDto } from '../common/error-response.dto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { logFields } from '../infra/http/request-observer.middleware';
import { ApplyOrderUpdateUseCase } from '../orders/use-cases/apply-order-update.use-case';
import { verifyWebhookSignature } from './webhook-signature';

/**
 * Broker order events (docs/api.md#webhooks). With WEBHOOK_SECRET set the HMAC
 * signature is the credential and is required; without it the caller needs an
 * API key with MANAGE_RECONCILIATION. Replays are harmless: updates are applied
 * idempotently.
 */
@ApiTags('webhooks')
@Controller('webhooks')
export class WebhooksController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: ApiKeyService,
    private readonly applyUpdate: ApplyOrderUpdateUseCase,
  ) {}

  @Post('orders')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: "Broker order event (a trade_updates message's data)" })
  @ApiHeader({ name: 'X-Alpaca-Signature', required: false, description: 'sha256=<hex HMAC of the raw body>' })
  @ApiResponse({ status: 200, description: '{status, outcome, client_order_id}' })
  @ApiResponse({ status: 401, type: ErrorResponseDto, description: 'Bad or missing signature (or key)' })
  async orders(
    @Req() req: Request & { rawBody?: Buffer },
    @Headers('x-alpaca-signature') signature: string | undefined,
  ): Promise<{ status: string; outcome: string; client_order_id: string }> {
    await this.authorize(req, signature);
    let update;
    try {
      update = parseAlpacaWebhook(req.body);
    } catch (err) {
      if (err instanceof WebhookPayloadError) throw InputValidationError.field('body', err.message);
      throw err;
    }
    logFields(req.res!).clientOrderId = update.order.clientOrderId;
    const result = await this.applyUpdate.apply({
      source: 'webhook',
      order: update.order,
      at: update.at,
      execution: update.execution,
    });
    return { status: 'ok', outcome: result.outcome, client_order_id: update.order.clientOrderId };
  }

  private async authorize(req: Request & { rawBody?: Buffer }, signature: string | undefined): Promise<void> {
    if (this.config.webhookSecret) {
      if (!verifyWebhookSignature(req.rawBody ?? Buffer.alloc(0), signature, this.config.webhookSecret)) {
        throw new UnauthenticatedError('INVALID_SIGNATURE', 'X-Alpaca-Signature is missing or does not match the body');
      }
      return;
    }
    const presented = presentedKey(req);
    const principal = presented ? await this.keys.authenticate(presented) : null;
    if (!principal) {
      throw new UnauthenticatedError('UNAUTHENTICATED', 'Without WEBHOOK_SECRET, webhooks need an API key');
    }
    if (!principal.has('MANAGE_RECONCILIATION')) {
      throw new ForbiddenError('PERMISSION_DENIED', 'This API key lacks the permission(s): MANAGE_RECONCILIATION');
    }
  }
}
