#!/bin/sh
# Installs Debian's Chromium for the browser tests (Playwright drives it; it downloads nothing).
exec sh "$(dirname "$0")/apt-install.sh" chromium chromium "for the browser tests"
