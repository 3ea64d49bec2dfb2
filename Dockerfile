# syntax=docker/dockerfile:1
# esimhub: one image for every role (ESIMHUB_ROLE=all|api|worker). The server's TypeScript runs through tsx (a
# runtime dependency); the only build product is the web console (console/dist), which Vite (a dev dependency)
# makes in the `build` stage. scripts/check-dockerfile.sh replays these stages without a Docker engine.

# Stage 1: the console. Dev dependencies, no install scripts: the root `prepare` script (the console build)
# needs scripts/ and console/, which are not copied yet, and better-sqlite3 is not needed to run Vite.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts ./scripts
COPY console ./console
# The console imports the SDK's types (erased at build, but resolved by the bundler).
COPY sdk/src ./sdk/src
RUN npm run build:console \
  && test -f console/dist/index.html

# Stage 2: production dependencies. --ignore-scripts again skips `prepare`; better-sqlite3's own install script
# (a prebuilt binary, or a compile with the toolchain below) is then run on its own.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm rebuild better-sqlite3 \
  && test -f node_modules/better-sqlite3/build/Release/better_sqlite3.node

# Stage 3: what runs. The server finds the console at <app>/console/dist (src/http/console/plugin.ts).
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=8080 \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/console/dist ./console/dist
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
RUN mkdir -p /data && chown node:node /data
# Non-root: the image's `node` user (uid 1000) owns only /data; the application files stay root's, read-only to it.
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM drains: requests in flight finish, claimed jobs and webhook deliveries are handed back.
STOPSIGNAL SIGTERM
CMD ["node", "bin/esimhub.js", "serve"]
