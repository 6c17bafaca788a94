/** A submission as the sim exchange handles it, after its latency: an injected fault first, then the order. */
import type { BrokerOrder, BrokerOrderRequest } from '../broker-client.port';
import { duplicateClientOrderId, lostResponse } from './sim-errors';
import type { SimExchange } from './sim-exchange';
import { throwFaultBeforeAccept, type SimFault } from './sim-faults';
import { parseLegs } from './sim-legs';
import { parseOrderTerms, validateClientOrderId } from './sim-order';

/**
 * `taken` says whether a client order id is already used (sim-lookup.ts): at
 * once while it is answered from memory, else after a read of the durable book.
 */
export function handleSubmit(
  ex: SimExchange,
  req: BrokerOrderRequest,
  fault: SimFault | undefined,
  taken: (clientOrderId: string) => boolean | Promise<boolean>,
): BrokerOrder | Promise<BrokerOrder> {
  throwFaultBeforeAccept(fault);
  const clientOrderId = validateClientOrderId(req.clientOrderId);
  const used = taken(clientOrderId);
  if (used === false) return accept(ex, req, fault, clientOrderId);
  if (used === true) throw duplicateClientOrderId(clientOrderId);
  return used.then((t) => {
    if (t) throw duplicateClientOrderId(clientOrderId);
    return accept(ex, req, fault, clientOrderId);
  });
}

function accept(ex: SimExchange, req: BrokerOrderRequest, fault: SimFault | undefined, clientOrderId: string) {
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
