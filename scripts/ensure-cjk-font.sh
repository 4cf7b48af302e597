#!/usr/bin/env bash
# Make sure the engine has a CJK-capable font, without downloading anything at run time.
# The engine itself decides (`python -m synthesis fonts` reads each font's character map), so
# a font this script accepts is one the engine renders with. Order: a font already on the
# machine; Debian's fonts-noto-cjk (when root with apt); Noto Sans SC from the npm registry
# into vendor/fonts (when npm is available).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PY:-.venv/bin/python}"
if [ ! -x "$PY" ]; then
  PY=python3
fi

engine_has_cjk_font() {
  "$PY" -m synthesis fonts >/dev/null 2>&1
}

if engine_has_cjk_font; then
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's fonts-noto-cjk for Chinese ad copy..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq fonts-noto-cjk; }
  engine_has_cjk_font && exit 0
fi

if command -v npm >/dev/null 2>&1; then
  echo "Installing Noto Sans SC from the npm registry into vendor/fonts..."
  mkdir -p vendor/npm vendor/fonts
  npm install --silent --no-audit --no-fund --prefix vendor/npm @expo-google-fonts/noto-sans-sc >/dev/null
  find vendor/npm/node_modules/@expo-google-fonts/noto-sans-sc -name 'NotoSansSC_*.ttf' -exec cp {} vendor/fonts/ \;
  engine_has_cjk_font && exit 0
fi

"$PY" -m synthesis fonts >/dev/null || true  # the engine's own words on what is missing
cat >&2 <<'MSG'
No CJK font could be installed. Chinese ad copy needs one. Install Debian's fonts-noto-cjk
(sudo apt-get install fonts-noto-cjk), or put a CJK .otf/.ttf/.ttc in vendor/fonts/, or set
CREATIVE_FONT_DIRS to a directory that has one, then run the command again.
MSG
exit 1
