# shellcheck shell=sh
# The box's part of the kernel command line: the real-time isolation, from the
# audio cores and the housekeeping cores (kernel CPU lists: "3", "2-3"), and
# the consoles. Sourced by scripts/image-build.sh (the image's default) and by
# the box's cuebox-boot (from cuebox.conf), so both write the same line.
#
# Consoles: the screen (tty0) and the first serial port at 115200 baud. The
# last one named is the system console (/dev/console: what units with
# StandardOutput=journal+console, such as cueboxd's problem lines, write to)
# and systemd's getty generator starts a login on it (serial-getty@ttyS0,
# logged in as root by its autologin drop-in). A box without a serial port has
# no ttyS0 console: the screen is the system console then.
cuebox_rt_cmdline() {
  printf 'isolcpus=managed_irq,domain,%s nohz_full=%s rcu_nocbs=%s irqaffinity=%s threadirqs systemd.gpt_auto=0 console=tty0 console=ttyS0,115200 quiet' \
    "$1" "$1" "$1" "$2"
}
