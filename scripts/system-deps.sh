#!/usr/bin/env bash
# Debian packages the project needs (installed only when missing): WordNet 3.0 database for METEOR; espeak-ng for the
# arena's speech stimuli (affectagent.arena.stimuli); chromium for the browser tests of the web pages
# (tests/service/browser, driven by Playwright through executable_path=/usr/bin/chromium: no browser download).
set -euo pipefail
need=()
[ -d /usr/share/wordnet ] || need+=(wordnet-base)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: missing Debian packages ${need[*]} (run as root: apt-get install ${need[*]}); METEOR, the arena's" \
         "speech stimuli and the browser tests need them (the browser tests fail without chromium)" >&2
  fi
fi
