#!/usr/bin/env bash
# Makes the TLS files of the compose stack's PostgreSQL (docker/compose.yml):
#   ca.crt      a CA of its own, the exporter's sslrootcert
#   server.crt  the server certificate, signed by that CA, for the host names
#               postgres (the compose service) and localhost, and 127.0.0.1
#   server.key  its private key
# The CA's key is thrown away: nothing else is ever signed with it. Like
# docker/secrets/, these are local development files, committed on purpose;
# never use them anywhere else. Run again (from anywhere) to replace them, e.g.
# before they expire (deploy/check.py fails 90 days ahead):
#   docker/tls/generate.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
days=3650
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl req -x509 -new -nodes -newkey rsa:3072 -sha256 -days "$days" \
  -keyout "$work/ca.key" -out ca.crt \
  -subj "/CN=festival-ops local development CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"

openssl req -new -nodes -newkey rsa:3072 -sha256 \
  -keyout server.key -out "$work/server.csr" -subj "/CN=postgres"
cat >"$work/server.ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:postgres, DNS:localhost, IP:127.0.0.1
EXT
openssl x509 -req -in "$work/server.csr" -CA ca.crt -CAkey "$work/ca.key" \
  -CAcreateserial -CAserial "$work/ca.srl" -days "$days" -sha256 \
  -extfile "$work/server.ext" -out server.crt

# World-readable like docker/secrets/: the postgres container copies the key
# to a file of its own with mode 0600 before the server starts (compose.yml).
chmod 644 ca.crt server.crt server.key
openssl verify -CAfile ca.crt server.crt
