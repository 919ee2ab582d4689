#!/usr/bin/env bash
# Ensure an MQTT broker for the live feed and print its URL: the one on
# 127.0.0.1:1883 when it answers, else a private Mosquitto (persistence under
# var/mosquitto/, loopback only) on port 51883, started once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if answers 1883; then echo "mqtt://127.0.0.1:1883"; exit 0; fi
port="${ONEMAP_PRIVATE_MQTT_PORT:-51883}"
if ! answers "$port"; then
  dir="$PWD/var/mosquitto"
  mkdir -p "$dir"
  cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/
# keep every QoS 1 message of the feed's session while it catches up (the default,
# 1000, drops the rest: acknowledged-after-commit cannot save what the broker drops)
max_queued_messages 0
max_queued_bytes 0
log_dest file $dir/mosquitto.log
user $(id -un)
CONF
  mosquitto="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
  "$mosquitto" -d -c "$dir/mosquitto.conf"
  for _ in $(seq 50); do answers "$port" && break; sleep 0.1; done
  answers "$port" || { echo "mosquitto did not start; see $dir/mosquitto.log" >&2; exit 1; }
  echo "已启动私有 MQTT 代理 — started a private Mosquitto on $port ($dir)" >&2
fi
echo "mqtt://127.0.0.1:$port"
