#!/usr/bin/env bash
# Builds the Go client of acai.chat.ChatService into OUTPUT (a binary) without the network:
# GOPATH mode (GO111MODULE=off) over Debian's golang-google-protobuf-dev sources.
#
#   tests/clients/go/build.sh OUTPUT [WORK_DIR]
#
# 1. protoc-gen-go is built from /usr/share/gocode (GO_PROTOBUF_GOPATH to use another tree);
# 2. the project's protoc (grpc_tools in .venv, as `make generate` uses; PYTHON to override)
#    generates the message types from proto/acai/chat/chat.proto into a temporary GOPATH, at the
#    path its go_package names (acaichat/internal/pb);
# 3. the client's sources are copied next to them, checked with gofmt and go vet, and built.
# WORK_DIR (default: a temporary directory, removed afterwards) keeps the GOPATH for inspection.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
output=${1:?usage: build.sh OUTPUT [WORK_DIR]}
[[ $output == /* ]] || output=$PWD/$output
python=${PYTHON:-$root/.venv/bin/python}
protobuf_gopath=${GO_PROTOBUF_GOPATH:-/usr/share/gocode}

command -v go >/dev/null || { echo "go is not on PATH (make go installs it)" >&2; exit 3; }
[[ -d $protobuf_gopath/src/google.golang.org/protobuf ]] || {
	echo "no google.golang.org/protobuf under $protobuf_gopath/src (Debian: golang-google-protobuf-dev; make go installs it)" >&2
	exit 3
}

if [[ -n ${2:-} ]]; then
	work=$2
	rm -rf "$work" && mkdir -p "$work"
else
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
work=$(cd "$work" && pwd)
package=$work/src/acaichat
mkdir -p "$work/bin" "$package"

# CGO_ENABLED=0: pure Go, so no C compiler is needed.
export GO111MODULE=off GOFLAGS= CGO_ENABLED=0 GOPATH="$work:$protobuf_gopath"
# A machine without HOME (some CI runners) has no default build cache.
[[ -n ${HOME:-} || -n ${GOCACHE:-} ]] || export GOCACHE=$work/cache

go build -o "$work/bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
"$python" -m grpc_tools.protoc -I"$root/proto" --plugin=protoc-gen-go="$work/bin/protoc-gen-go" \
	--go_out="$package" "$root/proto/acai/chat/chat.proto"

cp "$here"/*.go "$package/"
unformatted=$(gofmt -l "$here")
[[ -z $unformatted ]] || { echo "not gofmt-formatted (run gofmt -w): $unformatted" >&2; exit 1; }
(cd "$package" && go vet . && go build -o "$output" .)
