export { cartRoutes } from "./routes";
export { cartLines, recordCheckout } from "./lines";
