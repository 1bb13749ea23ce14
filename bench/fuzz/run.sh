#!/usr/bin/env bash
# Deep fuzzing: every fuzz target for a fixed number of executions (default 1,000,000), the API and
# page targets on both engines, then a table of executions, rate, new inputs and findings.
# CI runs short passes of the same targets (.ci/run); this is the long run that bench/README.md reports.
#
#   bash bench/fuzz/run.sh [EXECS]          # from the repository's root
#   PARALLEL=1 bash bench/fuzz/run.sh       # fuzz with one worker per target (default: every CPU)
#
# A finding is written by go test to the package's testdata/fuzz/<Target>/ and makes the run fail:
# commit it with its fix, as a regression input.
set -uo pipefail
cd "$(dirname "$0")/../.."
execs="${1:-1000000}"
parallel="${PARALLEL:-$(nproc)}"
log="$(mktemp -d)"
targets=(
  "FuzzParse ./internal/money/ sqlite"
  "FuzzParseAddress ./internal/chain/ sqlite"
  "FuzzOrderRequest ./internal/api/ sqlite"
  "FuzzWebhookEndpoint ./internal/api/ sqlite"
  "FuzzAPI ./internal/api/ sqlite"
  "FuzzPages ./internal/web/ sqlite"
  "FuzzAPI ./internal/api/ postgres"
  "FuzzPages ./internal/web/ postgres"
)
status=0
printf '| target | engine | executions | seconds | execs/s | new inputs | result |\n|---|---|---|---|---|---|---|\n' > "$log/table"
for t in "${targets[@]}"; do
  read -r name pkg engine <<<"$t"
  out="$log/$name-$engine.log"
  echo "==> $name ($pkg, $engine): $execs executions, $parallel workers" >&2
  start=$(date +%s)
  STABLEGATE_FUZZ_ENGINE="$engine" go test -run '^$' -fuzz "^$name\$" -fuzztime "${execs}x" -fuzzminimizetime 200x \
    -parallel "$parallel" "$pkg" > "$out" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  last=$(grep -E '^fuzz: elapsed' "$out" | tail -1)
  done_execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
  new=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
  result=ok
  if [ "$rc" -ne 0 ]; then
    result="FAILED (see $out)"; status=1
    tail -30 "$out" >&2
  fi
  rate=$(( ${done_execs:-0} / (secs > 0 ? secs : 1) ))
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$engine" "${done_execs:-?}" "$secs" "$rate" "${new:-?}" "$result" >> "$log/table"
done
cat "$log/table"
echo "logs in $log" >&2
exit $status
