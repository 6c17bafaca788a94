/** A submission as the sim exchange handles it, after its latency: an injected fault first, then the order. */
import type { BrokerOrder, BrokerOrderRequest } from '../broker-client.port';
import { duplicateClientOrderId, forbidden, lostResponse, rateLimited } from './sim-errors';
import type { SimExchange } from './sim-exchange';
import type { SimFault } from './sim-faults';
import { parseLegs } from './sim-legs';
import { parseOrderTerms, validateClientOrderId } from './sim-order';

export function handleSubmit(ex: SimExchange, req: BrokerOrderRequest, fault: SimFault | undefined): BrokerOrder {
  if (fault?.kind === 'retryable') {
    throw rateLimited(fault.message ?? 'too many requests (simulated)', fault.retryAfterMs ?? 1000);
  }
  if (fault?.kind === 'rejected' && !fault.afterAck) {
    throw forbidden(fault.message ?? 'order rejected (simulated broker fault)');
  }
  if (fault?.kind === 'unknown_outcome' && !fault.acceptThenLose) {
    throw lostResponse(fault.message ?? 'no answer from the broker (simulated)');
  }

  const clientOrderId = validateClientOrderId(req.clientOrderId);
  if (ex.byClientOrderId.has(clientOrderId)) throw duplicateClientOrderId(clientOrderId);
  const terms = parseOrderTerms(req);
  const legs = parseLegs(req, terms);
  ex.checkRisk(terms);
  const rejectAfterAck =
    fault?.kind === 'rejected' ? (fault.message ?? 'order rejected by the venue (simulated)') : undefined;
  const ack = ex.accept(clientOrderId, terms, rejectAfterAck, legs);

  if (fault?.kind === 'unknown_outcome') {
    throw lostResponse(fault.message ?? 'the broker accepted the order but its answer was lost (simulated)');
  }
  return ack;
}
