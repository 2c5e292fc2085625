#!/usr/bin/env bash
# Debian packages the project needs (installed only when missing): WordNet 3.0 database for METEOR; espeak-ng for the
# arena's speech stimuli (affectagent.arena.stimuli).
set -euo pipefail
need=()
[ -d /usr/share/wordnet ] || need+=(wordnet-base)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: missing Debian packages ${need[*]} (run as root: apt-get install ${need[*]}); METEOR and the arena's speech stimuli need them" >&2
  fi
fi
