// Runs the pure machine one step at a time over persisted snapshots; no I/O here either.
import { initialTransition, transition } from "xstate";
import { orderSaga, type Command, type SagaContext, type SagaEvent, type SagaInput } from "./machine";

/**
 * What is stored of a saga: its state and its context. The machine has no history states, no children and no
 * final state, so these two are the whole snapshot (xstate's persisted form adds empty fields around them; rows
 * written in that form still load, since they carry the same two).
 */
export type Persisted = { value: string; context: SagaContext };
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
  const state = String(snap.value);
  return { snapshot: { value: state, context: snap.context }, state, context: snap.context, commands: commandsOf(actions), handled };
}

export function startSaga(input: SagaInput): Step {
  const [snap, actions] = initialTransition(orderSaga, input);
  return result(snap, actions as never[], true);
}

export function applyEvent(persisted: Persisted, event: SagaEvent): Step {
  const current = orderSaga.resolveState({ value: persisted.value, context: persisted.context, historyValue: {} });
  if (!current.can(event)) return { ...result(current, [], false), snapshot: persisted };
  const [next, actions] = transition(orderSaga, current, event);
  return result(next, actions as never[], true);
}
