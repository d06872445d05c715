#!/usr/bin/env bash
# Runs every test of the project: go vet, staticcheck, go test -race, the browser
# client's type check and the real-browser tests (headless Chromium against the switchboard binary).
#
# Usage: scripts/test.sh
#
# On a fresh Debian machine as root it first installs what is missing (Debian's
# chromium, iproute2, pebble and openssl), the npm packages of e2e/ and the Go modules. Then, when it
# can, it runs the tests inside a private network namespace that has nothing but
# loopback (unshare -n), so no test can reach or disturb anything else; otherwise it
# runs them on the host's loopback and says so.
#
# Every step runs even when an earlier one failed; the exit status is non-zero when
# any failed.
#
# Environment: SWITCHBOARD_BIN (server binary for the browser tests, default
# bin/switchboard, built here), CHROMIUM (default /usr/bin/chromium).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

section() {
  printf '\n==== %s ====\n' "$*"
}

failed=()

# step NAME COMMAND...: runs a step, remembers a failure and goes on.
step() {
  local name=$1
  shift
  section "$name"
  local started=$SECONDS
  if "$@"; then
    printf -- '---- %s: ok (%ds)\n' "$name" $((SECONDS - started))
  else
    local status=$?
    printf -- '---- %s: FAILED with status %d (%ds)\n' "$name" "$status" $((SECONDS - started))
    failed+=("$name")
  fi
}

# summary: reports and ends the script.
summary() {
  section "summary"
  if ((${#failed[@]})); then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
  fi
  echo "all steps passed"
  exit 0
}

# fuzz_targets lists each fuzz target as "package FuzzName".
fuzz_targets() {
  grep -rl --include='*_test.go' --exclude-dir=node_modules '^func Fuzz' . | sort | while read -r file; do
    sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file" | while read -r name; do
      echo "./$(dirname "${file#./}") $name"
    done
  done
}

# run_fuzz runs every fuzz target briefly, one at a time ($FUZZTIME each, 500 inputs
# by default): new inputs beyond the seed corpora. The budget is a count, not a
# duration: with a duration, Go 1.26's fuzzing coordinator can fail a target with
# "context deadline exceeded" when the time runs out on a busy machine
# (go.dev/issue/75804). docs/testing.md says how to run them long.
run_fuzz() {
  local failed=0 pkg name
  while read -r pkg name; do
    echo "-- $name ($pkg)"
    go test -run='^$' -fuzz="^$name\$" -fuzztime="${FUZZTIME:-500x}" -parallel 1 "$pkg" || failed=1
  done < <(fuzz_targets)
  return $failed
}

# cross_builds builds and vets everything for the other systems the binary is for:
# the Linux-only parts (sendmmsg, a thread's CPU time) have portable fallbacks.
cross_builds() {
  local failed=0 target
  for target in windows/amd64 darwin/arm64 linux/arm64; do
    echo "-- $target"
    GOOS=${target%/*} GOARCH=${target#*/} go build ./... || failed=1
    GOOS=${target%/*} GOARCH=${target#*/} go vet ./... || failed=1
  done
  return $failed
}

# The tests proper. Needs no network beyond loopback: everything was fetched before.
run_tests() {
  export GOFLAGS=${GOFLAGS:--mod=readonly}
  export SWITCHBOARD_BIN=${SWITCHBOARD_BIN:-$repo/bin/switchboard}
  step "go vet" go vet ./...
  # staticcheck is a tool dependency of the module (go.mod's tool line): no install.
  step "staticcheck" go tool staticcheck ./...
  # examples/fiber is its own module: the same staticcheck binary checks it.
  step "staticcheck (examples/fiber)" bash -c 'cd examples/fiber && "$(cd ../.. && go tool -n staticcheck)" ./...'
  step "cross builds (windows/amd64, darwin/arm64, linux/arm64)" cross_builds
  step "go test -race" go test -race -count=1 ./...
  # examples/fiber is a module of its own (Fiber stays out of Switchboard's go.mod).
  step "go vet + go test -race (examples/fiber)" bash -c 'cd examples/fiber && go vet ./... && go test -race -count=1 ./...'
  step "fuzz targets, ${FUZZTIME:-500x} each" run_fuzz
  step "type check of the browser client (tsc -p web)" e2e/node_modules/.bin/tsc -p web
  step "browser tests (node --test e2e)" bash -c 'cd e2e && node --test'
}

# Inside the namespace made below: bring loopback up, forbid module downloads (they
# would hang without a network), run the tests.
if [[ ${1:-} == --in-netns ]]; then
  ip link set lo up
  export GOPROXY=off
  section "running inside a private network namespace (loopback only)"
  run_tests
  summary
fi

# ---- preparation, with the network ----

missing_packages() {
  local missing=()
  [[ -x ${CHROMIUM:-/usr/bin/chromium} ]] || missing+=(chromium)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v unshare >/dev/null || missing+=(util-linux)
  # Let's Encrypt's test CA and its DNS server, for the ACME test (cmd/switchboard TestACME)
  command -v pebble-challtestsrv >/dev/null || missing+=(pebble)
  # makes the test CA of the HTTPS browser test (e2e/https.test.js) and a TURN-over-TLS certificate (e2e/reach.test.js)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v redis-server >/dev/null || missing+=(redis-server) # the cluster tests start their own
  echo "${missing[@]}"
}

section "system packages"
read -r -a missing <<<"$(missing_packages)"
if ((${#missing[@]})); then
  if ((EUID == 0)); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "missing Debian packages: ${missing[*]} (run as root to install them, or install them yourself)" >&2
    exit 1
  fi
else
  echo "chromium, iproute2, unshare, pebble, openssl and redis-server are present"
fi

section "npm ci (e2e)"
(cd e2e && npm ci --no-audit --no-fund)

section "go mod download"
go mod download
(cd examples/fiber && go mod download)

section "build bin/switchboard"
go build -o bin/switchboard ./cmd/switchboard

# ---- the tests ----

if ((EUID == 0)) && unshare -n true 2>/dev/null; then
  exec unshare -n -- bash "$repo/scripts/test.sh" --in-netns
fi

section "NOTE: no private network namespace (needs root and unshare); running on the host's loopback"
run_tests
summary
