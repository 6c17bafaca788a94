# syntax=docker/dockerfile:1
#
# Execution Gateway image: a multi-stage build on Node.js 24 LTS (Debian bookworm slim).
# package.json's engines (>=20.19) is the oldest Node the code runs and is tested on;
# the image uses the maintained LTS line (docs/operations.md#deployment).
#   docker build -t execution-gateway .
#   docker run --rm -p 8002:8002 -e DATABASE_URL=... -e REDIS_URL=... -e ADMIN_API_KEY=... execution-gateway
# Another base image: docker build --build-arg NODE_IMAGE=node:22-bookworm-slim -t execution-gateway .
# Configuration is by environment variables only (see .env.example).

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: install everything, compile, then drop dev dependencies ------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY migrations ./migrations
COPY bench ./bench
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime: compiled code and production dependencies, run as non-root -------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8002
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Writable only where the app may write: the embedded PostgreSQL's data directory,
# used solely when DATABASE_URL is unset (e.g. a quick `docker run` without a database).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 8002
# Liveness only (the process answers); readiness (database, Redis) is /health/ready.
# No curl in the slim image: Node's built-in fetch does the probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8002) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, which starts the graceful shutdown.
CMD ["node", "dist/src/main.js"]
