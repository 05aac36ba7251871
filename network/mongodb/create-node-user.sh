#!/bin/bash
# Run once by the mongo image on the store's first start (/docker-entrypoint-initdb.d/),
# after it created the administrator from MONGO_INITDB_ROOT_USERNAME and
# MONGO_INITDB_ROOT_PASSWORD_FILE: the node's own user, allowed to read and write the
# node's database and nothing else. Passwords come from the compose secrets
# `resonate network member` generated; none is written here.
# The store only speaks TLS: trust its CA (RESONATE_STORE_TLS, mounted by the compose file).
RESONATE_NODE_USER="$RESONATE_NODE_USER" \
RESONATE_NODE_DATABASE="$RESONATE_NODE_DATABASE" \
RESONATE_NODE_PASSWORD="$(cat /run/secrets/mongodb-node-password)" \
mongosh --host 127.0.0.1 --port 27017 --quiet \
  --tls --tlsCAFile "$RESONATE_STORE_TLS/ca.pem" admin --eval '
  db.auth(process.env.MONGO_INITDB_ROOT_USERNAME, process.env.MONGO_INITDB_ROOT_PASSWORD);
  db.getSiblingDB(process.env.RESONATE_NODE_DATABASE).createUser({
    user: process.env.RESONATE_NODE_USER,
    pwd: process.env.RESONATE_NODE_PASSWORD,
    roles: [{role: "readWrite", db: process.env.RESONATE_NODE_DATABASE}]
  });'
