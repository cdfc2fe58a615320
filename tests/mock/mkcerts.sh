#!/bin/sh
# mkcerts.sh DIR: throwaway TLS material for the mock InsureSign server.
#
#   DIR/ca.pem, DIR/ca.key          test CA (trust this one in the client)
#   DIR/server.pem, DIR/server.key  server cert signed by ca.pem, valid for
#                                   127.0.0.1, ::1 and localhost
#   DIR/other-ca.pem                an unrelated CA (trusting it instead of
#                                   ca.pem must make verification fail)
#   DIR/selfsigned.pem, .key        self-signed server cert for the same
#                                   names, NOT signed by ca.pem
#
# EC P-256 keys, 30 days.  Overwrites existing files; quiet on success.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.mkcerts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A config of our own, so the system's openssl.cnf cannot change the result.
cat >"$tmp/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# Run openssl quietly; show its output only when it fails.
ossl() {
	if ! out=$(openssl "$@" 2>&1); then
		printf 'mkcerts.sh: openssl %s failed:\n%s\n' "$1" "$out" >&2
		exit 1
	fi
}

# Self-signed certificate with a fresh P-256 key: selfsigned NAME CN EXT.
selfsigned() {
	ossl req -config "$tmp/openssl.cnf" -x509 -new -nodes -days 30 \
		-newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 \
		-subj "/CN=$2" -extensions "$3" \
		-keyout "$tmp/$1.key" -out "$tmp/$1.pem"
}

selfsigned ca "insuresign-connect test CA" ca_ext
selfsigned other-ca "insuresign-connect other test CA" ca_ext
selfsigned selfsigned "127.0.0.1" server_ext

ossl req -config "$tmp/openssl.cnf" -new -nodes \
	-newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	-subj "/CN=127.0.0.1" -keyout "$tmp/server.key" -out "$tmp/server.csr"
ossl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
	-set_serial "0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
	-days 30 -sha256 -extfile "$tmp/openssl.cnf" -extensions server_ext \
	-out "$tmp/server.pem"

# Certificates are public (a web server user may need to read ca.pem);
# keys are not.
chmod 644 "$tmp"/*.pem
chmod 600 "$tmp"/*.key
for f in ca.pem ca.key server.pem server.key other-ca.pem \
	selfsigned.pem selfsigned.key; do
	mv -f "$tmp/$f" "$dir/$f"
done
