# shellcheck shell=sh
# At every login on the box (the screen, the serial console, ssh): the box's
# key fingerprint, for `hostctl pair`. cuebox-data prints it at boot too, but
# systemd clears the screen's VT when its getty starts.
if [ -r /run/cuebox/fingerprint ]; then
  echo "cuebox: box key fingerprint: $(cat /run/cuebox/fingerprint)"
  echo "cuebox: pair from a host with: hostctl pair <this box's address> --name <name>"
fi
