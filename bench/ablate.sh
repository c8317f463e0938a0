#!/usr/bin/env bash
# With/without runs for issue 16 ("performance machinery earns its place or goes").
#
#   bench/ablate.sh BRANCH[,BRANCH...] [--scenarios S@M[,S@M...]] [--runs N] [--messages N]
#                   [--warmup N] [--settle S] [--base REF] [--openssl-runs N] [--no-micro] [--out DIR] [--keep]
#
# BRANCH is ablate-<mechanism> (or just <mechanism>): one commit that removes the mechanism. Its base
# is the branch's parent commit (--base overrides). Base and branch are each checked out into their own
# worktree under a temp folder and built there (Release), and every bench run starts in that worktree
# with --no-build: the bench finds the repository from its working folder (RepoRoot.Find), so each run
# starts the gateway of its own worktree, and `micro` runs the S/MIME stage of its own build in process.
#
# Runs alternate base / branch / base / branch ... (N pairs, default 3) per scenario, `load --csv`
# collects every run, and the summary prints per branch: figure, base median, branch median, change %,
# and a verdict: a headline figure (e2e msg/s, p99 end of DATA -> 250, peak or settled RSS, the S/MIME
# stage against openssl) at least 5 % worse without the mechanism -> "keeps its place", else "remove".
# CPU ms per message and acc/s are printed for information; they decide nothing.
#
# Requires git, dotnet, python3 (the summary), and openssl for the S/MIME reference of `micro`.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# Scenarios per mechanism: the figure the mechanism was put there for (bench/README.md, "Why each
# performance mechanism is there"). Entries are scenario@sessions; "+micro" adds micro's S/MIME stage
# against openssl; "settle=S" waits S idle seconds after the run and reads the RSS then.
default_scenarios() {
  case "$1" in
    inline-file-stream)   echo "relay-100k@20" ;;
    early-writeback)      echo "smime-5m@20" ;;
    background-scheduler) echo "pickup-100k@20" ;;
    idle-trimmer)         echo "cbct-30m@20 settle=15" ;;
    console-writer)       echo "relay-1k@20" ;;
    group-commit)         echo "relay-1k@20,relay-1k@1" ;;
    base64-writer)        echo "smime-5m@20 +micro" ;;
    streaming-envelope)   echo "smime-5m@20 +micro" ;;
    decoder-fast-path)    echo "pickup-100k@20" ;;
    *) return 1 ;;
  esac
}

[[ $# -ge 1 && $1 != -* ]] || usage
IFS=, read -r -a BRANCHES <<< "$1"; shift
SCENARIOS="" RUNS=3 MESSAGES="" WARMUP="" SETTLE="" BASE="" OPENSSL_RUNS=5 MICRO=auto OUT="" KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --messages) MESSAGES=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --openssl-runs) OPENSSL_RUNS=$2; shift 2 ;;
    --no-micro) MICRO=no; shift ;;
    --micro) MICRO=yes; shift ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage ;;
    *) echo "ablate.sh: unknown option $1" >&2; usage ;;
  esac
done

REPO=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/phimail-ablate.XXXXXX")
OUT=${OUT:-$WORK/results}
mkdir -p "$OUT"
cleanup() {
  for wt in "$WORK"/*/; do [[ -e $wt/.git ]] && git -C "$REPO" worktree remove --force "$wt" >/dev/null 2>&1; done
  git -C "$REPO" worktree prune >/dev/null 2>&1 || true
  if [[ $KEEP == 0 ]]; then find "$WORK" -mindepth 1 -maxdepth 1 ! -name results -exec rm -rf {} +; fi
}
trap cleanup EXIT

# A worktree per commit, built once (branches that share a base share its build): base and branch
# never share a bin folder. Only what the bench runs is built: the gateway and the bench (with Core).
checkout_and_build() { # REF -> prints the worktree's folder
  local commit dir
  commit=$(git -C "$REPO" rev-parse --short=12 "$1^{commit}")
  dir=$WORK/$commit
  if [[ ! -d $dir ]]; then
    git -C "$REPO" worktree add --detach "$dir" "$commit" >/dev/null 2>&1
    echo "== build $(git -C "$dir" log --oneline -1 | cut -c1-100)" >&2
    (cd "$dir" && dotnet build src/PhiMailGateway/PhiMailGateway.csproj -c Release --nologo -v q \
      && dotnet build bench/PhiMailGateway.Bench/PhiMailGateway.Bench.csproj -c Release --nologo -v q) > "$dir.build.log" 2>&1 \
      || { echo "build failed in $dir (log: $dir.build.log)" >&2; tail -20 "$dir.build.log" >&2; exit 1; }
  fi
  echo "$dir"
}

bench() { # DIR ARGS...: the bench of that worktree, started in it
  local dir=$1; shift
  (cd "$dir" && dotnet bench/PhiMailGateway.Bench/bin/Release/net10.0/PhiMailGateway.Bench.dll "$@")
}

for branch in "${BRANCHES[@]}"; do
  name=${branch#ablate-}; branch=ablate-$name
  git -C "$REPO" rev-parse --verify -q "$branch^{commit}" >/dev/null || { echo "no branch $branch" >&2; exit 1; }
  base=${BASE:-$branch^}
  spec=${SCENARIOS:-$(default_scenarios "$name" || { echo "no default scenarios for $name: pass --scenarios" >&2; exit 1; })}
  micro=$MICRO
  [[ $micro == auto ]] && { [[ $spec == *+micro* ]] && micro=yes || micro=no; }
  settle=$SETTLE
  [[ -z $settle && $spec =~ settle=([0-9]+) ]] && settle=${BASH_REMATCH[1]}
  spec=${spec%% *}

  declare -A tree=()
  tree[base]=$(checkout_and_build "$base")
  tree[branch]=$(checkout_and_build "$branch")
  csv=$OUT/$name.csv
  micro_csv=$OUT/$name.micro.csv
  : > "$micro_csv"
  echo "side,size,openssl_ms,stage_ms,stage_per_openssl" >> "$micro_csv"

  IFS=, read -r -a entries <<< "$spec"
  for ((pair = 1; pair <= RUNS; pair++)); do
    for side in base branch; do
      for entry in "${entries[@]}"; do
        scenario=${entry%@*}; sessions=${entry#*@}
        args=(load --no-build --scenario "$scenario" --sessions "$sessions" --csv "$OUT/$name.$side.csv")
        [[ -n $MESSAGES ]] && args+=(--messages "$MESSAGES")
        [[ -n $WARMUP ]] && args+=(--warmup "$WARMUP")
        [[ -n $settle ]] && args+=(--settle "$settle")
        echo "== $name pair $pair/$RUNS: $side, $scenario at $sessions sessions"
        bench "${tree[$side]}" "${args[@]}" | tee -a "$OUT/$name.$side.log" | { grep -E '^gateway ' || true; }
      done
      if [[ $micro == yes ]]; then
        echo "== $name pair $pair/$RUNS: $side, micro (S/MIME stage against openssl)"
        # No BenchmarkDotNet run (a filter that matches nothing): only the openssl reference table.
        bench "${tree[$side]}" micro --openssl-runs "$OPENSSL_RUNS" -- --filter '*NoBenchmarkDotNetRun*' > "$OUT/$name.$side.micro.$pair.log" 2>&1 \
          || { echo "micro failed ($OUT/$name.$side.micro.$pair.log)" >&2; tail -20 "$OUT/$name.$side.micro.$pair.log" >&2; exit 1; }
        awk -v side="$side" '$2 == "MB" && NF == 8 { print side "," $1 "," $4 "," $5 "," $6 }' "$OUT/$name.$side.micro.$pair.log" | tee -a "$micro_csv"
      fi
    done
  done
  base_commit=$(git -C "$REPO" rev-parse --short "$base")
  branch_commit=$(git -C "$REPO" rev-parse --short "$branch")
  python3 - "$name" "$OUT/$name.base.csv" "$OUT/$name.branch.csv" "$micro_csv" "$base_commit" "$branch_commit" <<'PY' | tee "$OUT/$name.summary.txt"
import csv, os, statistics, sys

name, base_csv, branch_csv, micro_csv, base_commit, branch_commit = sys.argv[1:]
THRESHOLD = 5.0
# (column, label, better, headline)
FIGURES = [
    ("e2e_per_s", "e2e msg/s", "higher", True),
    ("accept_p99_ms", "p99 DATA->250 ms", "lower", True),
    ("peak_rss_mib", "peak RSS MiB", "lower", True),
    ("settled_rss_mib", "settled (idle) RSS MiB", "lower", True),
    ("acc_per_s", "accepted msg/s", "higher", False),
    ("cpu_ms_per_msg", "CPU ms/msg", "lower", False),
]

def rows(path):
    if not os.path.exists(path): return []
    with open(path, newline="") as f: return list(csv.DictReader(f))

def num(v):
    try:
        x = float(v)
        return None if x != x else x
    except (TypeError, ValueError):
        return None

base, branch = rows(base_csv), rows(branch_csv)
failed = [r for r in base + branch if r["status"] != "ok"]
keys = []
for r in base + branch:
    k = (r["scenario"], r["sessions"])
    if k not in keys: keys.append(k)

table, worse = [], []
def add(label, b, x, better, headline):
    if not b or not x: return
    mb, mx = statistics.median(b), statistics.median(x)
    change = (mx - mb) / mb * 100 if mb else 0.0
    cost = -change if better == "higher" else change  # how much worse the branch (without the mechanism) is
    verdict = ""
    if headline:
        verdict = "keeps its place" if cost >= THRESHOLD else "remove"
        if cost >= THRESHOLD: worse.append(label)
    table.append((label, mb, mx, change, f"{len(b)}/{len(x)}", verdict or "(info)"))

for scenario, sessions in keys:
    sel = lambda rs: [r for r in rs if r["scenario"] == scenario and r["sessions"] == sessions and r["status"] == "ok"]
    sb, sx = sel(base), sel(branch)
    for col, label, better, headline in FIGURES:
        b = [v for v in (num(r[col]) for r in sb) if v is not None]
        x = [v for v in (num(r[col]) for r in sx) if v is not None]
        add(f"{scenario}@{sessions} {label}", b, x, better, headline)

micro = rows(micro_csv)
for size in sorted({r["size"] for r in micro}, key=lambda s: int(s)):
    b = [float(r["stage_per_openssl"]) for r in micro if r["side"] == "base" and r["size"] == size]
    x = [float(r["stage_per_openssl"]) for r in micro if r["side"] == "branch" and r["size"] == size]
    add(f"S/MIME stage / openssl, {size} MB", b, x, "lower", True)

print()
print(f"### {name}: base {base_commit} (with) vs ablate-{name} {branch_commit} (without)")
print()
print("| figure | base median | branch median | change % | runs base/branch | verdict |")
print("| --- | ---: | ---: | ---: | --- | --- |")
for label, mb, mx, change, n, verdict in table:
    print(f"| {label} | {mb:.2f} | {mx:.2f} | {change:+.1f} | {n} | {verdict} |")
print()
if failed:
    print(f"WARNING: {len(failed)} run(s) not ok: " + "; ".join(f"{r['target']} {r['scenario']}@{r['sessions']}: {r['status']}" for r in failed))
if not table:
    print(f"Verdict {name}: no figures (every run failed?)")
elif worse:
    print(f"Verdict {name}: keeps its place (without it, >= {THRESHOLD:.0f}% worse on: {', '.join(worse)})")
else:
    print(f"Verdict {name}: remove (no headline figure >= {THRESHOLD:.0f}% worse without it)")
PY
done
echo
echo "CSV, logs and summaries: $OUT"
