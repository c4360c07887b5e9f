// Runs the pure machine one step at a time over persisted snapshots; no I/O here either.
import { initialTransition, transition } from "xstate";
import { orderSaga, type Command, type SagaContext, type SagaEvent, type SagaInput } from "./machine";

export type Persisted = Record<string, unknown>;
export type Step = {
  snapshot: Persisted;
  state: string;
  context: SagaContext;
  commands: Command[];
  /** False when the event meant nothing in this state (a late or stray message). */
  handled: boolean;
};

function commandsOf(actions: { type: string; params?: unknown }[]): Command[] {
  return actions
    .filter((a) => a.type === "xstate.emit")
    .map((a) => (a.params as { event: Command }).event);
}

function result(snap: ReturnType<typeof initialTransition<typeof orderSaga>>[0], actions: never[], handled: boolean): Step {
  return {
    snapshot: orderSaga.getPersistedSnapshot(snap) as Persisted,
    state: String(snap.value),
    context: snap.context,
    commands: commandsOf(actions),
    handled,
  };
}

export function startSaga(input: SagaInput): Step {
  const [snap, actions] = initialTransition(orderSaga, input);
  return result(snap, actions as never[], true);
}

export function applyEvent(persisted: Persisted, event: SagaEvent): Step {
  const current = orderSaga.resolveState(persisted as Parameters<typeof orderSaga.resolveState>[0]);
  if (!current.can(event)) return { ...result(current, [], false), snapshot: persisted };
  const [next, actions] = transition(orderSaga, current, event);
  return result(next, actions as never[], true);
}
