#!/usr/bin/env bash
# Installs the real programs the integration tests talk to (Debian packages).
set -euo pipefail
pkgs=(sip-tester kamailio kamailio-tls-modules baresip-core prometheus prometheus-alertmanager mosquitto mosquitto-clients snmpd snmp chromium dnsmasq-base systemd postgresql victoria-metrics)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "install-peers: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
