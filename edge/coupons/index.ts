export { couponRoutes } from "./routes";
export { heldCoupon } from "./held";
export { discountOf, type Discount } from "./discount";
