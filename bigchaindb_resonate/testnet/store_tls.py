"""TLS between a node and its MongoDB: a private CA per node and the store's certificate.

`resonate network member` (and `network compose`) issue them once per node, on the node's
machine, and keep them: `ca.pem` (public), `ca-key.pem` (kept to re-issue, mounted in no
container) and `mongodb.pem`, the store's certificate and key in the one file mongod's
`--tlsCertificateKeyFile` reads. The certificate names the store's service host (what
BigchainDB dials, checked by the driver) and 127.0.0.1 (the store's own healthcheck and
init script).

How BigchainDB uses it: with `database.ssl` true and no `ca_cert`/`certfile`/`keyfile`/
`crlfile`, BigchainDB 2.2.2 (`backend/localmongodb/connection.py:_connect`) opens a TLS
connection that verifies the server against the default trust store, then logs in with
its password. Setting all four files instead switches it to MONGODB-X509 login, so the
node trusts this CA through `SSL_CERT_FILE` in its container (Python's default verify
paths read it) and keeps its generated password; mongod, started with
`--tlsAllowConnectionsWithoutCertificates`, asks no client for a certificate.
"""
from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SERVER_FILE = "mongodb.pem"
PRIVATE_FILES = (CA_KEY_FILE, SERVER_FILE)
FILES = (CA_FILE, *PRIVATE_FILES)
# Rotation is deleting the directory and running the command again (network/README.md).
VALIDITY = datetime.timedelta(days=5 * 365)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "resonate"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _private_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def issue(store_host: str) -> dict[str, bytes]:
    """A new CA and the store's certificate for `store_host`, as the files' contents."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca_name = _name(f"resonate store CA for {store_host}")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + VALIDITY)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(_name(store_host)).issuer_name(ca_name)
              .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now).not_valid_after(now + VALIDITY)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.SubjectAlternativeName([
                  x509.DNSName(store_host), x509.DNSName("localhost"),
                  x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    return {CA_FILE: ca.public_bytes(serialization.Encoding.PEM),
            CA_KEY_FILE: _private_pem(ca_key),
            SERVER_FILE: server.public_bytes(serialization.Encoding.PEM)
            + _private_pem(server_key)}
