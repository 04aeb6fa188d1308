#!/bin/sh
# Installs Debian's `prometheus` package for its `promtool`, with which a test checks that
# /metrics is well formed (`promtool check metrics`). No Prometheus server is started.
exec sh "$(dirname "$0")/apt-install.sh" promtool prometheus "(for promtool) for the metrics tests"
