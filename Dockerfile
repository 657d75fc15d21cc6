# The API on Node 24, run from its TypeScript sources with tsx.
FROM node:24-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json mikro-orm.config.ts ./
COPY src ./src
# The embedded database (used when DATABASE_URL is unset) writes here as the non-root user.
RUN mkdir -p .data && chown node:node .data

USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=40s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# What `npm start` runs (tsx), without npm and sh in between: they do not pass SIGTERM on, and the
# server needs it to finish in-flight requests before the container stops.
CMD ["node", "--import", "tsx", "src/server.ts"]
