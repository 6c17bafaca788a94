import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, RequirePermissions } from '../auth/auth.decorators';
import { ErrorResponseDto } from '../common/error-response.dto';
import {
  AcknowledgeFindingDto,
  FillsBackfillDto,
  FindingDto,
  FindingIdParamDto,
  ForceCompleteDto,
  ReconciliationStatusDto,
  RunRequestedDto,
} from './dto/reconciliation.dto';
import { closedReason } from './domain/gate';
import { FindingRecord } from './persistence/findings.repository';
import { ReconciliationService, ReconciliationStatus } from './reconciliation.service';
import { RunSummary } from './use-cases/reconcile.use-case';
import { operatorOf } from '../common/operator-fields';

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export function toFindingDto(f: FindingRecord): FindingDto {
  return {
    id: f.id,
    kind: f.kind,
    symbol: f.symbol,
    broker_order_id: f.brokerOrderId,
    client_order_id: f.clientOrderId,
    local: f.local,
    broker: f.broker,
    detected_at: f.detectedAt.toISOString(),
    last_seen_at: f.lastSeenAt.toISOString(),
    seen_count: f.seenCount,
    resolved_at: iso(f.resolvedAt),
    resolution: f.resolution,
    resolved_by: f.resolvedBy,
    notes: f.notes,
  };
}

export function toStatusDto(s: ReconciliationStatus): ReconciliationStatusDto {
  const st = s.state;
  return {
    gate: s.gate.open ? 'open' : 'closed',
    // Why it is closed, from the same fresh read as the rest of this body (the gate's own
    // snapshot may be up to 250 ms older): a failure just recorded is named at once.
    gate_reason: s.gate.open ? null : s.gate.readable ? closedReason(st, s.running) : s.gate.reason,
    gate_opened_by: s.gateOpenedBy,
    last_run_at: iso(st.lastRunFinishedAt),
    last_run_started_at: iso(st.lastRunStartedAt),
    last_run_duration_ms: st.lastRunDurationMs,
    last_run_ok: st.lastRunOk,
    last_error: st.lastRunOk === false ? st.lastError : null,
    last_success_at: iso(st.lastSuccessAt),
    last_run_summary: st.lastRunSummary,
    running: s.running,
    run_pending: st.runRequests > st.serving,
    force_completed_at: iso(st.forceCompletedAt),
    force_completed_by: st.forceCompletedBy,
    open_mismatches: Object.values(s.openByKind).reduce((a, b) => a + b, 0),
    open_by_kind: s.openByKind,
    blocked_symbols: [...s.gate.blockedSymbols].map(([symbol, b]) => ({ symbol, code: b.code, reason: b.reason })),
    findings: s.findings.map(toFindingDto),
  };
}

@ApiTags('reconciliation')
@ApiKeyAuth('MANAGE_RECONCILIATION')
@Controller('reconciliation')
export class ReconciliationController {
  constructor(private readonly reconciliation: ReconciliationService) {}

  @Get('status')
  @RequirePermissions('MANAGE_RECONCILIATION')
  @ApiOperation({
    summary: 'Gate, last run, findings',
    description:
      'The startup gate as this replica sees it, the last run (any replica), and the findings: open ones and those resolved within 24 h, newest first.',
  })
  @ApiResponse({ status: 200, type: ReconciliationStatusDto })
  async status(): Promise<ReconciliationStatusDto> {
    return toStatusDto(await this.reconciliation.status());
  }

  @Post('run')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('MANAGE_RECONCILIATION')
  @ApiOperation({
    summary: 'Run reconciliation now',
    description:
      'Asks the leader replica for a run (requests made meanwhile share it) and waits for it up to 25 s: 200 with the status once a run covering this request has ended (successful or not: see last_run_ok and last_error), else 202 {requested, request}.',
  })
  @ApiResponse({ status: 200, type: ReconciliationStatusDto })
  @ApiResponse({ status: 202, type: RunRequestedDto })
  async run(@Res({ passthrough: true }) res: Response): Promise<ReconciliationStatusDto | RunRequestedDto> {
    const outcome = await this.reconciliation.requestRun();
    if (outcome.done) return toStatusDto(outcome.status);
    res.status(HttpStatus.ACCEPTED);
    return { requested: true, request: outcome.request };
  }

  @Post('force-complete')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('MANAGE_RECONCILIATION')
  @ApiOperation({
    summary: 'Open the startup gate without a successful run (audited)',
    description:
      'Every replica that started before now opens its gate within 1 s. Reconciliation keeps running and reporting; quarantined symbols stay blocked.',
  })
  @ApiResponse({ status: 200, type: ReconciliationStatusDto })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async forceComplete(@Body() body: ForceCompleteDto, @Actor() actor: ActorContext): Promise<ReconciliationStatusDto> {
    return toStatusDto(
      await this.reconciliation.forceComplete(
        { operator: operatorOf(body.operator, actor), reason: body.reason },
        actor,
      ),
    );
  }

  @Post('fills-backfill')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('MANAGE_RECONCILIATION')
  @ApiOperation({
    summary: 'Recover missed fills from the broker’s FILL activities (audited)',
    description:
      'Pages through the executions since `since` and applies each unseen one exactly once (the cumulative filled quantity decides), rebuilding the affected positions and realized P&L. 409 while a run holds the lock for more than 25 s; 503 when the broker cannot be read.',
  })
  @ApiResponse({ status: 200, description: 'What the pass saw and applied' })
  async fillsBackfill(@Body() body: FillsBackfillDto, @Actor() actor: ActorContext): Promise<RunSummary> {
    return this.reconciliation.backfill(body.since ? new Date(body.since) : undefined, actor);
  }

  @Post('findings/:id/acknowledge')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('MANAGE_RECONCILIATION')
  @ApiOperation({
    summary: 'Acknowledge a finding (audited)',
    description:
      'Resolves it; an orphan or position mismatch no longer blocks its symbol. Nothing is adopted, cancelled or booked. 404 unknown id, 409 already resolved.',
  })
  @ApiResponse({ status: 200, type: FindingDto })
  async acknowledge(
    @Param() p: FindingIdParamDto,
    @Body() body: AcknowledgeFindingDto,
    @Actor() actor: ActorContext,
  ): Promise<FindingDto> {
    return toFindingDto(
      await this.reconciliation.acknowledge(
        p.id,
        { operator: operatorOf(body.operator, actor), notes: body.notes ?? null },
        actor,
      ),
    );
  }
}
