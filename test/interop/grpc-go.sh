#!/bin/sh
# The plugin against grpc-go, the node's own gRPC family: builds test/interop/grpc-go-proxy.go and
# runs the plugin suites with that proxy on every connection between the harness and the plugin
# (the node's calls to the plugin, the plugin's Runtime and rpcdb calls back). Needs Go and
# grpc-go: on Debian, `apt-get install golang-go golang-google-grpc-dev` (GOPATH mode, no network).
# Not part of `npm test`, which must pass on a machine without Go.
set -eu
cd "$(dirname "$0")/../.."
if ! command -v go >/dev/null 2>&1; then
  echo "test:interop needs Go and grpc-go: apt-get install golang-go golang-google-grpc-dev" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/proxy"
cp test/interop/grpc-go-proxy.go "$work/proxy/main.go"
(cd "$work/proxy" && GO111MODULE=off GOPATH="${GOPATH:-/usr/share/gocode}" GOCACHE="$work/cache" go build -o "$work/grpc-go-proxy" .)
npm run build >/dev/null
TSVM_TEST_GRPC_GO_PROXY="$work/grpc-go-proxy" node --test --test-concurrency=1 \
  dist/test/plugin/plugin.test.js dist/test/plugin/validators.test.js dist/test/plugin/adopt.test.js
