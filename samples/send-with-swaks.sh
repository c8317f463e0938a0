#!/usr/bin/env bash
# Sends samples/hello.eml through a running gateway with swaks (Debian: apt-get install swaks).
#   PHIMAIL_USER=frontdesk samples/send-with-swaks.sh            # prompts for the password
#   PHIMAIL_SERVER=gateway.lan:587 PHIMAIL_USER=frontdesk samples/send-with-swaks.sh
# Extra arguments go to swaks (e.g. --quit-after AUTH to test the login only).
# --tls requires STARTTLS. swaks does not verify the server certificate unless --tls-verify is
# given, so the gateway's generated self-signed certificate works here as is.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
server="${PHIMAIL_SERVER:-127.0.0.1:2525}"
user="${PHIMAIL_USER:?set PHIMAIL_USER to a gateway user (create one with: users add NAME)}"

args=(
  --server "$server"
  --tls
  --auth-user "$user"
  --from office@smiledental.example
  --to dr.lee@specialist.example
  --data "@$here/hello.eml"
)
# A password on the command line is visible in the process list; without it swaks prompts.
if [[ -n "${PHIMAIL_PASSWORD:-}" ]]; then
  args+=(--auth-password "$PHIMAIL_PASSWORD")
fi

exec swaks "${args[@]}" "$@"
