# shellcheck shell=sh
# The real-time part of the kernel command line, from the audio cores and the
# housekeeping cores (kernel CPU lists: "3", "2-3", or "N" for the last CPU).
# Sourced by scripts/image-build.sh (the image's default) and by the box's
# cuebox-boot (from cuebox.conf), so both write the same line.
cuebox_rt_cmdline() {
  printf 'isolcpus=managed_irq,domain,%s nohz_full=%s rcu_nocbs=%s irqaffinity=%s threadirqs systemd.gpt_auto=0 quiet' \
    "$1" "$1" "$1" "$2"
}
