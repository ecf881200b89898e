#!/bin/sh
# Secrets for deploy/compose (a test CA and certificate, a root key, the DB password).
# For trying the compose file only: production keeps its root in an HSM or sealed.
set -eu
cd "$(dirname "$0")"
mkdir -p secrets && chmod 700 secrets && cd secrets
[ -f db_password ] || head -c 24 /dev/urandom | base64 > db_password
printf 'postgresql+psycopg://trent:%s@postgres:5432/trent' "$(cat db_password)" > db_url
[ -f root.key ] || head -c 32 /dev/urandom > root.key
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Trent test CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout key.pem -out req.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,DNS:trent-a,DNS:trent-b,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile san.ext -out cert.pem 2>/dev/null
chmod 600 root.key key.pem ca.key db_password db_url
echo "secrets written to $(pwd); clients trust ca.pem"
