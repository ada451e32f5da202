#!/bin/sh
# Regenerates the fake providers' test certificates in tests/fakes/data/:
# a test CA (ca.pem) and a server certificate for 127.0.0.1 and localhost
# (server_cert.pem, server_key.pem), ECDSA P-256, valid 100 years.  The
# results are committed, so tests never run this; it documents how they
# were made.  Needs the openssl CLI (1.1.1 or later).
set -eu
cd "$(dirname "$0")/data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36525

openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca_key.pem"
openssl req -x509 -new -key "$tmp/ca_key.pem" -sha256 -days $days \
  -subj "/CN=vestnik fake providers test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" \
  -out ca.pem

openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/key.pem"
openssl pkcs8 -topk8 -nocrypt -in "$tmp/key.pem" -out server_key.pem
openssl req -new -key server_key.pem -subj "/CN=localhost" -out "$tmp/req.csr"
cat > "$tmp/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in "$tmp/req.csr" -CA ca.pem -CAkey "$tmp/ca_key.pem" \
  -CAcreateserial -CAserial "$tmp/ca.srl" -sha256 -days $days \
  -extfile "$tmp/ext.cnf" -out server_cert.pem
# The CA key is thrown away: nothing else can be signed with this CA.
openssl verify -CAfile ca.pem server_cert.pem
