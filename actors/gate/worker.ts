// Units a flash-sale order gave back (declined, timed out, cancelled) return to the gate, once per hold.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Gate } from "../../domain/sale";
import { type Data, SALE_RESTOCKED } from "../../nats";
import type { BatchHandler } from "../lib/worker";

export function gateHandler(gate: Gate, nc: NatsConnection): BatchHandler {
  return async (_tx, batch) => {
    for (const { env } of batch) {
      if (env.type !== "inventory.evt.released") continue;
      const { saleId, orderId } = env.data as Data<"inventory.evt.released">;
      if (!saleId) continue;
      // -1: the gate is not loaded (Redis lost it); its rebuild counts this order as released
      if ((await gate.release(saleId, orderId)) > 0)
        nc.publish(SALE_RESTOCKED, JSON.stringify({ saleId, at: Date.now() }));
    }
    return [];
  };
}
