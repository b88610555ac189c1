# The trainer container (ECS Fargate task): `mlaas4hep worker` consumes the job queue with
# TensorFlow.js's native backend (`run-job <id>` runs one job instead). Build where npm can
# download libtensorflow:  docker build -t mlaas4hep-trainer .   GPU variant: Dockerfile.gpu.

# ---- build: compile TypeScript, install production dependencies plus tfjs-node
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts
COPY lib lib
COPY bin bin
COPY bench bench
COPY functions functions
COPY types types
# ONNX Runtime (the trainer verifies each exported model.onnx with it) keeps only its linux binaries
RUN npm run build && npm prune --omit=dev \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32 \
 && TFJS_VERSION="$(node -p "require('./package-lock.json').packages['node_modules/@tensorflow/tfjs'].version")" \
 && npm install --no-save --omit=dev "@tensorflow/tfjs-node@${TFJS_VERSION}"

# ---- run: only the built code and its dependencies, as an unprivileged user
FROM node:22-bookworm-slim
# glibc's malloc kept freed typed arrays of the training threads resident: one arena per thread that
# allocates (two arenas here), and a mmap threshold that grows with each large free (fixed here at
# 256 KiB, so large buffers go back to the system when freed). A 500k-event streaming job peaked at
# 381 MB instead of 422, for about a tenth more job time (README, Training: peak RSS)
ENV NODE_ENV=production MLAAS4HEP_TF_BACKEND=tensorflow MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=262144
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules node_modules
COPY --from=build --chown=node:node /app/dist dist
COPY --from=build --chown=node:node /app/package.json package.json
USER node
# SIGTERM (scale-in, spot reclaim) reaches node directly: training stops at the next batch and the
# job is recorded as interrupted, to resume on the next run.
ENTRYPOINT ["node", "dist/bin/mlaas4hep.js"]
CMD ["worker"]
