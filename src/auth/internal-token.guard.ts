import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError, UnauthenticatedError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { StateStore } from '../infra/state/state-store';
import {
  checkInternalSignature,
  INTERNAL_SIGNATURE_HEADER,
  INTERNAL_TIMESTAMP_HEADER,
  isExemptFromInternalSigning,
  replayTtlMs,
} from './internal-signature';

/** Replay-cache keys (under REDIS_KEY_PREFIX), shared by every replica. */
export const INTERNAL_SIGNATURE_REPLAY_PREFIX = 'auth:internal-sig:';

/**
 * Service signing (INTERNAL_TOKEN_*): registered before the API-key guard, so
 * an unsigned call is refused before its key is even looked up, and, like
 * every guard, before any pipe or handler reads the body. The signature
 * covers the raw bytes the JSON parser kept (`req.rawBody`). When the replay
 * cache cannot be reached the call is refused (503): accepting it could
 * accept a replay.
 */
@Injectable()
export class InternalTokenGuard implements CanActivate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly store: StateStore,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const { secret, required, timestampToleranceSeconds } = this.config.internalToken;
    if (!secret || ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<Request & { rawBody?: Buffer }>();
    const pathWithQuery = req.originalUrl;
    if (isExemptFromInternalSigning(pathWithQuery, { webhookSecretSet: !!this.config.webhookSecret })) return true;
    const decision = checkInternalSignature(
      {
        method: req.method,
        pathWithQuery,
        rawBody: req.rawBody ?? Buffer.alloc(0),
        timestampHeader: header(req, INTERNAL_TIMESTAMP_HEADER),
        signatureHeader: header(req, INTERNAL_SIGNATURE_HEADER),
      },
      { secret, required, toleranceSeconds: timestampToleranceSeconds },
      this.clock.now().getTime(),
    );
    if (decision.outcome === 'unsigned') return true;
    if (decision.outcome === 'refused') throw new UnauthenticatedError(decision.code, decision.message);
    let first: boolean;
    try {
      first = await this.store.setIfAbsent(
        `${INTERNAL_SIGNATURE_REPLAY_PREFIX}${decision.signature}`,
        '1',
        replayTtlMs(timestampToleranceSeconds),
      );
    } catch {
      throw new DomainError(
        'unavailable',
        'SAFETY_STATE_UNAVAILABLE',
        'The replay cache for signed service calls cannot be reached; the call was refused rather than risk accepting a replay',
        { component: 'internal_signature_replay_cache' },
      );
    }
    if (!first) {
      throw new UnauthenticatedError(
        'INTERNAL_SIGNATURE_REPLAYED',
        'This X-Internal-Signature was already used: sign every call afresh',
      );
    }
    return true;
  }
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
