export { type Discount, discountOf } from "./discount";
export { heldCoupon } from "./held";
export { couponRoutes } from "./routes";
