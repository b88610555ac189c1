# The trainer container (ECS Fargate task): runs `mlaas4hep run-job` with TensorFlow.js's native
# backend. Build where npm can download libtensorflow:  docker build -t mlaas4hep-trainer .
# GPU variant: build with --build-arg TFJS_NODE=@tensorflow/tfjs-node-gpu on a CUDA base image.

# ---- build: compile TypeScript, install production dependencies plus tfjs-node
FROM node:22-bookworm-slim AS build
ARG TFJS_NODE=@tensorflow/tfjs-node
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts
COPY lib lib
COPY bin bin
COPY bench bench
COPY functions functions
COPY types types
RUN npm run build && npm prune --omit=dev \
 && TFJS_VERSION="$(node -p "require('./package-lock.json').packages['node_modules/@tensorflow/tfjs'].version")" \
 && npm install --no-save --omit=dev "${TFJS_NODE}@${TFJS_VERSION}"

# ---- run: only the built code and its dependencies, as an unprivileged user
FROM node:22-bookworm-slim
ENV NODE_ENV=production MLAAS4HEP_TF_BACKEND=tensorflow
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules node_modules
COPY --from=build --chown=node:node /app/dist dist
COPY --from=build --chown=node:node /app/package.json package.json
USER node
# SIGTERM (scale-in, spot reclaim) reaches node directly: training stops at the next batch and the
# job is recorded as interrupted, to resume on the next run.
ENTRYPOINT ["node", "dist/bin/mlaas4hep.js", "run-job"]
