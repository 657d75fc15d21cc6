# The API on Node 24, compiled to JavaScript (npm run build) and run as `npm run start:prod` does.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY --from=build /app/dist ./dist
# The embedded database (used when DATABASE_URL is unset) writes here as the non-root user.
RUN mkdir -p .data && chown node:node .data

USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=40s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The command of `npm run start:prod` (keep the two in step), without npm and sh in between: they do not
# pass SIGTERM on, and the server needs it to finish in-flight requests before the container stops.
# The heap limits keep the process under 250 MB; see "Performance" in the README for the measurements.
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=50", "dist/server.js"]
