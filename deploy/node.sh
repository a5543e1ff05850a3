#!/usr/bin/env bash
# Runs the project's Node.js (>= 22; Node 24 from .node/ where the system's is older): bash deploy/node.sh args...
source "$(dirname "$0")/node-env.sh"
exec node "$@"
