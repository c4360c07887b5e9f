export { type OpenApiDocument, openapiDocument, undocumented } from "./document";
export { type Operation, openapi, operationOf } from "./operation";
export { openapiRoutes } from "./routes";
