#!/bin/sh
# Installs a Debian package the tests need unless its command is already there, through
# apt-get (with sudo unless root). Usage: apt-install.sh COMMAND PACKAGE WHAT-IT-IS-FOR
set -eu
command_name=$1 package=$2 purpose=$3
if command -v "$command_name" >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "Installing Debian's $package $purpose..."
$SUDO apt-get update -qq
# A package that ships a service (prometheus) must not start it: under systemd its unit is
# masked first; in a container without an init system, nothing starts it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl mask "$package.service" >/dev/null 2>&1 || true
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$package" >/dev/null
