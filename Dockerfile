# One image for every app process (edge, actors, gateway simulator, setup job); compose picks the command.
FROM oven/bun:1.4.5-slim
WORKDIR /app
ENV NODE_ENV=production

COPY package.json bun.lock ./
# drizzle-kit and typescript are dev-only: migrations are applied at run time by drizzle-orm's migrator.
RUN bun install --frozen-lockfile --production

COPY tsconfig.json bunfig.toml ./
COPY db ./db
COPY nats ./nats
COPY domain ./domain
COPY actors ./actors
COPY edge ./edge
COPY scripts ./scripts
# The edge writes its dev signing keys here; a volume mounted on it inherits this ownership.
RUN mkdir -p /app/.keys && chown bun:bun /app/.keys

USER bun
EXPOSE 3000
# the edge: one process per core on one port (EDGE_PROCESSES), each supervised
CMD ["bun", "scripts/edges.ts"]
