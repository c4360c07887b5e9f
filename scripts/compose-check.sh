#!/bin/sh
# Static check of compose.yaml (no Docker engine needed): `sh scripts/compose-check.sh`.
set -e
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-compose >/dev/null
fi
if docker-compose -f compose.yaml config -q && docker-compose -f compose.yaml --profile k6 config -q && docker-compose -f compose.yaml --profile cluster config -q; then
  echo "compose.yaml: valid"
else
  echo "compose.yaml: invalid" >&2
  exit 1
fi
