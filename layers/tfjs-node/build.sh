#!/usr/bin/env bash
# Builds the @tensorflow/tfjs-node Lambda layer (the native TensorFlow backend, ~4x-10x faster than
# WebAssembly). tfjs-node downloads libtensorflow at install time, so this runs where that download
# works: in Docker, on the Lambda Node.js 22 base image, so the binary matches the runtime.
#
#   layers/tfjs-node/build.sh            -> layers/tfjs-node/tfjs-node-layer.zip
#
# Publish it with `aws lambda publish-layer-version` and attach it to the predict function (serverless.yml
# does not attach it by default), then set MLAAS4HEP_TF_BACKEND=tensorflow there; without the layer
# the functions fall back to wasm. Note: ES-module import() ignores NODE_PATH, so the bundle must
# resolve the layer's /opt/nodejs/node_modules itself before this is a drop-in.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(node -p "require('$here/../../package-lock.json').packages['node_modules/@tensorflow/tfjs'].version")"
docker run --rm --platform linux/amd64 -v "$here:/out" --entrypoint /bin/bash public.ecr.aws/lambda/nodejs:22 -c "
  set -euo pipefail
  dnf install -y zip >/dev/null
  mkdir -p /build/nodejs && cd /build/nodejs
  npm init -y >/dev/null
  npm install --omit=dev @tensorflow/tfjs-node@$version
  # the layer only needs the binding and libtensorflow, not the build tooling
  rm -rf node_modules/@tensorflow/tfjs-node/deps/include node_modules/node-pre-gyp node_modules/@mapbox
  cd /build && zip -qr /out/tfjs-node-layer.zip nodejs
"
ls -lh "$here/tfjs-node-layer.zip"
