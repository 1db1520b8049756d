# ocpp-router: multi-stage build mirroring the npm scripts exactly (`npm ci` builds through `prepare`,
# `npm start` = `node --max-semi-space-size=1 dist/src/main.js serve`). No Docker engine runs on the development machines, so
# this file is kept minimal and in step with package.json by hand.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY scripts ./scripts
COPY schemas ./schemas
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json NOTICE ./
COPY bin ./bin
COPY conf ./conf
COPY schemas ./schemas
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# Configuration: env overrides (PORT, LISTEN, WORKERS, DATA_DIR, …) or a mounted file with --config.
ENV DATA_DIR=/app/data
VOLUME ["/app/data"]
EXPOSE 9220
CMD ["node", "--max-semi-space-size=1", "dist/src/main.js", "serve"]
