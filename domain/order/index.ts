export { type CancelDecision, canCancel } from "./cancel";
export { lockOrders } from "./lock";
export { type Command, orderSaga, type SagaContext, type SagaEvent, type SagaInput } from "./machine";
export { applyEvent, type Persisted, type Step, startSaga } from "./saga";
export {
  ORDER_STATUSES,
  type OrderStatus,
  RESTING_STATES,
  SAGA_STATES,
  type SagaState,
  SOLD_STATUSES,
} from "./states";
