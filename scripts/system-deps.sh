#!/usr/bin/env bash
# Installs the Debian packages Birge needs when they are missing (only as root).
#   runtime: Pango/HarfBuzz and Noto fonts for the PDF documents (real Kyrgyz letters), gettext
#   test:    the runtime set plus Chromium (browser tests) and poppler-utils (reading PDFs back)
set -euo pipefail
what="${1:-test}"
need=()
command -v msgfmt >/dev/null 2>&1 || need+=(gettext)
dpkg -s fonts-noto-core >/dev/null 2>&1 || need+=(fonts-noto-core)
dpkg -s libpango-1.0-0 >/dev/null 2>&1 || need+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
if [ "$what" = "test" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "Missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
  [ "$what" = "runtime" ] && exit 0  # the demo still runs; PDF documents need them
  exit 1
fi
echo "Installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
