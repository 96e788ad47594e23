# Shared by the network benchmarks: a cueboxd box playing into the paced
# file PCM, paired with and authorizing a host key in $CUEBOX_HOST_DIR.
# Source it after setting: bin (built binaries), tmp (scratch folder).
#
#   box_start ROOT ADDRESS [PREFIX…]   starts cueboxd (idle, --listen ADDRESS),
#                                      optionally under PREFIX (ip netns exec NS)
#   box_pair ROOT ADDRESS [PREFIX…]    pairs hostctl (run under PREFIX) with it
#                                      and authorizes the host for edit

box_start() {
  local root=$1 address=$2
  shift 2
  local so
  so=$(scripts/alsa/build-paced-pcm.sh | tail -n 1)
  cat > "$tmp/asound.conf" <<CONF
pcm_type.cuebox_paced { lib "$so" }
pcm.bench { type cuebox_paced outfile "/dev/null" }
CONF
  ALSA_CONFIG_PATH="/usr/share/alsa/alsa.conf:$tmp/asound.conf" \
    "$@" "$bin/cueboxd" --root "$root" run --listen "$address" --name bench --device bench \
    --format FLOAT_LE --channels 2 --double-go-ms 0 --no-irq-routing >"$tmp/box.log" 2>&1 &
  box_pid=$!
  for _ in $(seq 100); do [[ -f $root/api/box.key ]] && break; sleep 0.1; done
}

box_pair() {
  local root=$1 address=$2
  shift 2
  local fp
  fp=$("$bin/cueboxd" --root "$root" key)
  "$@" "$bin/hostctl" pair "$address" --name bench --fingerprint "$fp" >/dev/null
  "$bin/cueboxd" --root "$root" auth add "$("$bin/hostctl" key 2>/dev/null)" --role edit >/dev/null
}
