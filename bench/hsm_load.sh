#!/usr/bin/env bash
# Encrypt on an HSM-backed key (custom key store on SoftHSM2) vs a software key, same server.
# Starts `trent serve --dev` pinned to one core with a private SoftHSM2 token, creates and
# connects a custom key store, creates one key in it, then runs bench/load.py --endpoint twice.
# Usage: bench/hsm_load.sh [extra bench/load.py args, e.g. --connections 32 --duration 10]
set -euo pipefail
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root=$(dirname -- "$here")
py="$root/.venv/bin/python"
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp/tokens" > "$tmp/softhsm2.conf"
export SOFTHSM2_CONF="$tmp/softhsm2.conf"
softhsm2-util --init-token --free --label bench --pin bench-pin-1234 --so-pin so-pin-5678 >/dev/null
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cpu=${SERVER_CPU:-0}
taskset -c "$cpu" "$py" -m trent.cli.main serve --dev --port "$port" --data-dir "$tmp/data" \
  --hsm-cluster "cluster-trentbenchhsm=/usr/lib/softhsm/libsofthsm2.so:token=bench" >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/_trent/health" >/dev/null && break; sleep 0.1; done
key=$("$py" - "$port" <<'PY'
import base64, sys, boto3
kms = boto3.client("kms", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
anchor = "-----BEGIN CERTIFICATE-----\n" + base64.b64encode(b"\x30\x03\x02\x01\x01").decode() + "\n-----END CERTIFICATE-----\n"
cks = kms.create_custom_key_store(CustomKeyStoreName="bench", CloudHsmClusterId="cluster-trentbenchhsm",
                                  TrustAnchorCertificate=anchor, KeyStorePassword="bench-pin-1234")["CustomKeyStoreId"]
kms.connect_custom_key_store(CustomKeyStoreId=cks)
print(kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=cks)["KeyMetadata"]["KeyId"])
PY
)
echo "== HSM-backed key $key (SoftHSM2)"
"$py" "$here/load.py" --endpoint "http://127.0.0.1:$port" --server-pid "$pid" --label trent-hsm --ops Encrypt --key-id "$key" "$@"
echo "== software key"
"$py" "$here/load.py" --endpoint "http://127.0.0.1:$port" --server-pid "$pid" --label trent-software --ops Encrypt "$@"
