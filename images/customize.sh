#!/usr/bin/env bash
# Turns the base root (unpacked at $1) into the box's root: cuebox's units
# enabled, what a show box does not need masked, per-box secrets removed (each
# box makes its own on first boot), read-only-root fix-ups. Run by
# scripts/image-build.sh after the overlay (images/rootfs) is copied in.
set -euo pipefail
root=$1
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$root/data" "$root/boot/efi" "$root/usr/share/cuebox"
cp "$here/cuebox.conf" "$root/usr/share/cuebox/cuebox.conf"
rm -rf "$root/var/lib/cuebox"
ln -s /data/cuebox "$root/var/lib/cuebox"

# Per-box identities: made on first boot, never shipped in the image.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id" # empty: systemd makes one at boot (the root is read-only)
rm -f "$root/var/lib/dbus/machine-id"

# cueboxd's own user: the service runs as it (docs/security.md), its data
# root is its own. Fixed ids, so a data partition keeps its owner across
# images. In audio for /dev/snd; its group owns /dev/cpu_dma_latency (udev).
groupadd --root "$root" --system --gid 900 cuebox
useradd --root "$root" --system --uid 900 --gid cuebox --groups audio \
  --home-dir /data/cuebox --no-create-home --shell /usr/sbin/nologin \
  --comment "cuebox playback daemon" cuebox

# The box's screen is its trusted interface (cueboxd key, cueboxd auth add):
# root is logged in there; there is no password to log in anywhere else. The
# screen's getty@tty1 is enabled by systemd itself.
usermod -R "$root" -p '*' root
mkdir -p "$root/etc/systemd/system/getty@tty1.service.d"
cat > "$root/etc/systemd/system/getty@tty1.service.d/autologin.conf" <<'CONF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear %I $TERM
CONF
# The serial console's serial-getty@ttyS0 is started by systemd's getty
# generator because console=ttyS0 is on the kernel command line (cmdline.sh),
# and only when the box has that port. A serial line reaches further than the
# screen (a console server, a cable across the venue): root is logged in
# there only when cuebox.conf says SERIAL_LOGIN=root (serial-login).
mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$root/etc/systemd/system/serial-getty@ttyS0.service.d/cuebox.conf" <<'CONF'
[Unit]
# SERIAL_LOGIN is in /data/cuebox.conf.
After=cuebox-data.service
[Service]
ExecStart=
ExecStart=-/usr/lib/cuebox/serial-login %I $TERM
CONF

# cueboxd typed by root (the console, ssh) runs as the cuebox user for what
# writes its data root (see cueboxd-as-user); `cueboxd system ...` stays root's.
mkdir -p "$root/usr/local/sbin"
ln -sf /usr/lib/cuebox/cueboxd-as-user "$root/usr/local/sbin/cueboxd"

# poweroff, reboot, halt, shutdown typed at the box: without the "Failed to
# connect to bus" systemd's own print when there is no logind (see power).
mkdir -p "$root/usr/local/sbin"
for cmd in poweroff reboot halt shutdown; do
  ln -sf /usr/lib/cuebox/power "$root/usr/local/sbin/$cmd"
done

systemctl --root="$root" enable cuebox-data.service cuebox-firewall.service cuebox-boot.service \
  cueboxd.service systemd-networkd.service >/dev/null 2>&1
# Not on a show box: background package updates, timers that wake the disk or
# TRIM it mid-show, login session tracking (logind needs D-Bus, which a box
# does not run), and sshd unless cuebox.conf asks for it (cuebox-boot starts it).
systemctl --root="$root" disable ssh.service ssh.socket >/dev/null 2>&1 || true
for unit in apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
  dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
  systemd-networkd-wait-online.service systemd-logind.service; do
  systemctl --root="$root" mask "$unit" >/dev/null 2>&1
done
