# shellcheck shell=sh
# say LINE...: a notice for whoever is at the box. Each line goes to stdout
# (the unit's journal+console: the journal and /dev/console, the last
# console= of the kernel command line) and to every other console the kernel
# has (/sys/class/tty/console/active lists them, /dev/console's last), so the
# screen and the serial port both show it.
say() {
  for line in "$@"; do
    printf '%s\n' "$line"
  done
  others=$(sed 's/ *[^ ]*$//' /sys/class/tty/console/active 2>/dev/null || true)
  for tty in $others; do
    [ -w "/dev/$tty" ] || continue
    for line in "$@"; do
      printf '%s\r\n' "$line"
    done > "/dev/$tty" 2>/dev/null || true
  done
}
