# shellcheck shell=sh
# Loads /data/cuebox.conf over the defaults (the image's copy), so a key
# missing from an older file still has its value.
CUEBOX_CONF=${CUEBOX_CONF:-/data/cuebox.conf}
. /usr/share/cuebox/cuebox.conf
if [ -r "$CUEBOX_CONF" ]; then
  . "$CUEBOX_CONF"
fi
