#!/usr/bin/env bash
# Installs what the tests need (when missing), then runs every test of the solution.
# Extra arguments go to `dotnet test`, e.g. scripts/test.sh --filter "FullyQualifiedName~Users".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# command -> Debian package. The tests call openssl (certificates, CMS checks) and sqlite3;
# the pickup page's browser tests drive Debian's chromium (/usr/bin/chromium) with Playwright,
# whose own browser download cannot work offline.
declare -A needed=(
  [openssl]=openssl
  [sqlite3]=sqlite3
  [chromium]=chromium
)

missing=()
for cmd in "${!needed[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done

# python module -> Debian package, checked with Debian's python3 (a pyenv or venv python3 earlier on
# PATH does not see apt's modules). The DKIM tests verify signatures with dkimpy, a verifier that is
# not MimeKit, which makes them.
declare -A needed_python=(
  [dkim]=python3-dkim
)
for module in "${!needed_python[@]}"; do
  /usr/bin/python3 -c "import $module" >/dev/null 2>&1 || missing+=("${needed_python[$module]}")
done

# The PostgreSQL storage tests start a private cluster of their own (tests/.../TestKit/PostgresCluster.cs)
# from Debian's server binaries, whatever major version is installed; they are not on PATH.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)

if ((${#missing[@]} > 0)); then
  sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then sudo=(sudo); fi
  echo "test.sh: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

dotnet test PhiMailGateway.sln -c Release \
  --logger "trx;LogFileName=results.trx" \
  --results-directory TestResults \
  "$@"
