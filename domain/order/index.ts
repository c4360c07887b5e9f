export { orderSaga, type Command, type SagaContext, type SagaEvent, type SagaInput } from "./machine";
export { applyEvent, startSaga, type Persisted, type Step } from "./saga";
export { canCancel, type CancelDecision } from "./cancel";
export { lockOrders } from "./lock";
export { ORDER_STATUSES, RESTING_STATES, SAGA_STATES, type OrderStatus, type SagaState } from "./states";
