# syntax=docker/dockerfile:1
# esimhub: one image for every role (ESIMHUB_ROLE=all|api|worker). The TypeScript sources run through tsx
# (a runtime dependency), so there is no build step beyond installing production dependencies.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
# Toolchain only for the case where better-sqlite3 has no prebuilt binary for the platform.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
  && test -f node_modules/better-sqlite3/build/Release/better_sqlite3.node

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=8080 \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
COPY src ./src
RUN mkdir -p /data && chown node:node /data
# Non-root: the image's `node` user (uid 1000) owns only /data.
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM drains: requests in flight finish, claimed jobs and webhook deliveries are handed back.
STOPSIGNAL SIGTERM
CMD ["node", "bin/esimhub.js", "serve"]
