#!/usr/bin/env bash
# Mutation testing of the code that decides what is protected (issue 24). Not part of CI: each
# area takes minutes. Installs the pinned dotnet-stryker from .config/dotnet-tools.json, then
# mutates one area's files and runs only that area's tests against each mutant.
#
#   scripts/mutation.sh AREA[,AREA...] [GLOB...]
#
# AREA is one of: inspection, routing, audit, pickup-cipher, password-hasher, guard, or "all" (every
# area but inspection in one run, then inspection). Areas joined by commas share one build and
# one initial test run, which is most of the time of a small area. GLOBs, relative to src/PhiMailGateway.Core, narrow the files mutated
# (e.g. scripts/mutation.sh inspection 'Inspection/ContentSniffer.cs'); without them the
# area's protective files are mutated. Reports (HTML, JSON, Markdown) go to
# mutation-reports/AREA/<timestamp>/reports/, which git ignores.
#
# Environment: STRYKER_CONCURRENCY (default 1: the machine is shared), STRYKER_ARGS (extra
# arguments passed through, e.g. "--mutation-level Advanced" or "--log-to-file" to see why an
# initial test run failed), MUTATION_TEST_FILTER (replaces the area's test filter, e.g. to run
# only the fixtures of the file being mutated).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

(($# >= 1)) || usage
area="$1"
shift

# Tests that start the whole gateway are left out of every filter: they cover the same
# decisions end to end but take seconds each, and Stryker runs the covering tests per mutant.
declare -A filters=(
  [inspection]='FullyQualifiedName~PhiMailGateway.Tests.Inspection.&FullyQualifiedName!~EndToEnd&Name!=SampleMessages_Write'
  [routing]='FullyQualifiedName~PhiMailGateway.Tests.Routing.'
  [audit]='FullyQualifiedName~PhiMailGateway.Tests.Audit.&FullyQualifiedName!~EndToEnd&FullyQualifiedName!~AuditCrashTests'
  [pickup-cipher]='FullyQualifiedName~PhiMailGateway.Tests.Protection.Pickup.PackageCipherTests'
  [password-hasher]='FullyQualifiedName~PhiMailGateway.Tests.Users.PasswordHasherTests'
  [guard]='FullyQualifiedName~PhiMailGateway.Tests.Guard.'
)

# The files whose mutants must be killed: what decides Unknown / DentalImage, the rule engine,
# the audit chain and its checks, the pickup cipher and the password hasher.
declare -A files=(
  [inspection]='Inspection/DentalImageClassifier.cs Inspection/ContentSniffer.cs Inspection/DicomHeaderReader.cs Inspection/RasterHeaders.cs Inspection/MessageInspector*.cs Inspection/EmbeddedBlockScanner.cs Inspection/Containers/*.cs'
  [routing]='Routing/RuleEngine.cs Routing/RuleSetParser.cs'
  [audit]='Audit/AuditChain.cs Audit/AuditVerifier.cs Audit/AccountingExport.cs'
  [pickup-cipher]='Protection/Pickup/PackageCipher.cs'
  [password-hasher]='Users/PasswordHasher.cs'
  [guard]='Guard/*.cs'
)

if [[ "$area" == "all" ]]; then
  (($# == 0)) || usage
  "${BASH_SOURCE[0]}" routing,audit,pickup-cipher,password-hasher,guard
  "${BASH_SOURCE[0]}" inspection
  exit 0
fi

IFS=, read -r -a areas <<<"$area"
filter=""
area_files=()
for a in "${areas[@]}"; do
  [[ -n "${filters[$a]:-}" ]] || { echo "mutation.sh: unknown area '$a'" >&2; usage; }
  filter+="${filter:+|}(${filters[$a]})"
  read -r -a more <<<"${files[$a]}"
  area_files+=("${more[@]}")
done

if [[ -n "${MUTATION_TEST_FILTER:-}" ]]; then
  filter="$MUTATION_TEST_FILTER"
fi

globs=("$@")
if ((${#globs[@]} == 0)); then
  globs=("${area_files[@]}")
fi

dotnet tool restore >/dev/null

mutate=()
for g in "${globs[@]}"; do
  mutate+=(--mutate "**/PhiMailGateway.Core/$g")
done

out="$root/mutation-reports/${area//,/+}/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

extra=()
if [[ -n "${STRYKER_ARGS:-}" ]]; then
  read -r -a extra <<<"$STRYKER_ARGS"
fi

cd tests/PhiMailGateway.Tests
dotnet stryker \
  --project PhiMailGateway.Core.csproj \
  --configuration Release \
  --concurrency "${STRYKER_CONCURRENCY:-1}" \
  --test-case-filter "$filter" \
  "${mutate[@]}" \
  --reporter Progress --reporter Html --reporter Json --reporter Markdown \
  --output "$out" \
  --skip-version-check \
  "${extra[@]}"

report="$out/reports/mutation-report.json"
# Per file: killed / survived / no coverage / timeout, and where each live mutant is, so a
# survivor can be read without opening the HTML report.
if command -v jq >/dev/null 2>&1 && [[ -f "$report" ]]; then
  jq -r --arg root "$root/src/PhiMailGateway.Core/" '
    .files | to_entries[]
    | (.value.mutants | map(select(.status != "Ignored" and .status != "CompileError"))) as $m
    | select($m | length > 0)
    | ($m | map(select(.status == "Killed")) | length) as $k
    | ($m | map(select(.status == "Survived")) | length) as $s
    | ($m | map(select(.status == "NoCoverage")) | length) as $n
    | ($m | map(select(.status == "Timeout")) | length) as $t
    | "\(.key | ltrimstr($root)): killed \($k), survived \($s), no coverage \($n), timeout \($t), score \(if ($k + $s + $t) > 0 then (($k + $t) * 1000 / ($k + $s + $t) | floor) / 10 else 100 end)% of covered",
      ($m[] | select(.status == "Survived" or .status == "NoCoverage")
        | "  \(.status) line \(.location.start.line): \(.mutatorName): \(.replacement // "" | gsub("\\s+"; " ") | .[0:110])")
  ' "$report"
fi
echo "mutation.sh: reports in ${out#"$root"/}/reports/"
