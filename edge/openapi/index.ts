export { openapi, operationOf, type Operation } from "./operation";
export { openapiDocument, undocumented, type OpenApiDocument } from "./document";
export { openapiRoutes } from "./routes";
