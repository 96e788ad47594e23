#!/bin/sh
# mmdebstrap customize hook for the cached base root ($1): trims what a show
# box never reads. Changing this file changes the recipe hash.
set -eu
root=$1
# apt's package lists and caches: the box is not updated in place (a new image is written).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
# Documentation and locales (dpkg path-exclude keeps them out of later installs too).
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
mkdir -p "$root"/etc/dpkg/dpkg.cfg.d
cat > "$root"/etc/dpkg/dpkg.cfg.d/cuebox-nodoc <<'CFG'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
CFG
