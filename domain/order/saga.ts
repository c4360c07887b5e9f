// Runs the pure machine one step at a time over persisted snapshots; no I/O here either.
import { type AnyActorScope, createActor, type SnapshotFrom } from "xstate";
import { type Command, orderSaga, type SagaContext, type SagaEvent, type SagaInput } from "./machine";

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

type Action = { type: string; params?: unknown };
type Snapshot = SnapshotFrom<typeof orderSaga>;

/**
 * One inert actor scope for every step. xstate's transition() and initialTransition() make a new actor for each
 * call, and an actor computes the machine's initial snapshot as it is made: most of a step's cost. This machine
 * spawns and invokes nothing, so one scope serves every step; its executor collects the step's actions instead
 * of running them, as theirs does.
 */
let collected: Action[] = [];
const scope = (() => {
  const input: SagaInput = {
    orderId: "",
    userId: "",
    items: [],
    total: 0,
    discount: 0,
    paymentMethod: "card_ok",
    at: 0,
    paymentDeadlineMs: 0,
  };
  const s = (createActor(orderSaga, { input }) as unknown as { _actorScope: AnyActorScope })._actorScope;
  s.actionExecutor = (a: Action) => void collected.push(a);
  return s;
})();

function collect(run: () => Snapshot): [Snapshot, Action[]] {
  collected = [];
  const snap = run();
  const actions = collected;
  collected = [];
  return [snap, actions];
}

function commandsOf(actions: Action[]): Command[] {
  return actions.filter((a) => a.type === "xstate.emit").map((a) => (a.params as { event: Command }).event);
}

function result(snap: Snapshot, actions: Action[], handled: boolean): Step {
  const state = String(snap.value);
  return {
    snapshot: { value: state, context: snap.context },
    state,
    context: snap.context,
    commands: commandsOf(actions),
    handled,
  };
}

export function startSaga(input: SagaInput): Step {
  const [snap, actions] = collect(() => orderSaga.getInitialSnapshot(scope, input));
  return result(snap, actions, true);
}

export function applyEvent(persisted: Persisted, event: SagaEvent): Step {
  const current = orderSaga.resolveState({ value: persisted.value, context: persisted.context, historyValue: {} });
  if (!current.can(event)) return { ...result(current, [], false), snapshot: persisted };
  const [next, actions] = collect(() => orderSaga.transition(current, event, scope));
  return result(next, actions, true);
}
