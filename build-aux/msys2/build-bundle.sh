#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Makes a portable Windows zip of Chronos from an MSYS2 (UCRT64) build:
# the two programs, every DLL they load from the MSYS2 prefix, the
# gdk-pixbuf loaders with their cache, the glib-networking TLS module (the
# QEMU download is HTTPS), compiled GSettings schemas, the Adwaita and
# hicolor icons, translations, and optionally a QEMU to ship inside.
#
# usage: build-aux/msys2/build-bundle.sh BUILDDIR OUTPUT.zip [QEMU_DIR]
#   BUILDDIR  a configured and compiled meson build dir (prefix = $MINGW_PREFIX)
#   QEMU_DIR  a folder with qemu-system-x86_64.exe, qemu-img.exe and their
#             DLLs and share/ (firmware); copied to bin/qemu, where Chronos
#             looks for a bundled QEMU (EXE_DIR/qemu)
#
# Run in the UCRT64 shell; needs zip (pacman -S zip). The layout is the one
# GLib expects on Windows: data is found relative to bin/, so the folder
# can live anywhere.

set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  sed -n '4,18p' "$0" >&2
  exit 2
fi

builddir=$(cd "$1" && pwd)
output=$2
qemu_dir=${3:-}
prefix=${MINGW_PREFIX:-/ucrt64}

case "$output" in
  /*) ;;
  *) output="$PWD/$output" ;;
esac

for tool in meson ldd zip glib-compile-schemas gtk4-update-icon-cache; do
  command -v "$tool" >/dev/null || { echo "build-bundle.sh: $tool is missing" >&2; exit 1; }
done

version=$(meson introspect --projectinfo "$builddir" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/chronos-${version:-dev}-x86_64"

echo "== meson install into a staging folder"
meson install -C "$builddir" --destdir "$work/destdir" --quiet
mkdir -p "$stage"
cp -R "$work/destdir$prefix/." "$stage/"

for exe in chronos.exe chronos-vm.exe; do
  if [ ! -f "$stage/bin/$exe" ]; then
    echo "build-bundle.sh: $exe was not installed: is the build complete?" >&2
    exit 1
  fi
done

echo "== GLib helpers"
# GApplication's uniqueness starts a session bus through gdbus.exe.
cp "$prefix/bin/gdbus.exe" "$stage/bin/"

echo "== gdk-pixbuf loaders"
pixbuf_dir=lib/gdk-pixbuf-2.0/2.10.0
mkdir -p "$stage/$pixbuf_dir/loaders"
cp "$prefix/$pixbuf_dir"/loaders/*.dll "$stage/$pixbuf_dir/loaders/"
# gdk-pixbuf relocates the MSYS2 prefix in the cache to wherever the bundle
# is unpacked, so MSYS2's cache (it lists exactly the loaders copied) works
# as it is, as in gnome-text-editor's Windows build.
cp "$prefix/$pixbuf_dir/loaders.cache" "$stage/$pixbuf_dir/"

echo "== GIO TLS module"
mkdir -p "$stage/lib/gio/modules"
tls=0
for module in libgioopenssl.dll libgiognutls.dll; do
  if [ -f "$prefix/lib/gio/modules/$module" ]; then
    cp "$prefix/lib/gio/modules/$module" "$stage/lib/gio/modules/"
    tls=1
  fi
done
if [ "$tls" = 0 ]; then
  echo "build-bundle.sh: no glib-networking TLS module (pacman -S ${MINGW_PACKAGE_PREFIX:-mingw-w64-ucrt-x86_64}-glib-networking)" >&2
  exit 1
fi
"$prefix/bin/gio-querymodules.exe" "$stage/lib/gio/modules"

echo "== DLLs"
# ldd lists the whole closure; keep what comes from the MSYS2 prefix (system
# DLLs from C:\Windows are on every machine).
collect_dlls() {
  ldd "$@" 2>/dev/null | awk '{ print $3 }' | grep -i "^$prefix/bin/.*\.dll$" | sort -u || true
}
binaries=("$stage"/bin/*.exe "$stage/$pixbuf_dir"/loaders/*.dll "$stage"/lib/gio/modules/*.dll)
collect_dlls "${binaries[@]}" | while read -r dll; do
  cp -n "$dll" "$stage/bin/"
done
# A loader's dependency may itself need more DLLs that ldd on the loader
# found through PATH; one more pass over the copied DLLs closes the set.
collect_dlls "$stage"/bin/*.dll | while read -r dll; do
  cp -n "$dll" "$stage/bin/"
done

echo "== GSettings schemas"
schemas="$stage/share/glib-2.0/schemas"
mkdir -p "$schemas"
# GTK's own (file chooser, colour chooser, debug) besides ours.
cp "$prefix"/share/glib-2.0/schemas/org.gtk.gtk4.*.gschema.xml "$schemas/"
glib-compile-schemas --strict "$schemas"

echo "== icons"
mkdir -p "$stage/share/icons"
cp -R "$prefix/share/icons/Adwaita" "$stage/share/icons/"
mkdir -p "$stage/share/icons/hicolor"
cp "$prefix/share/icons/hicolor/index.theme" "$stage/share/icons/hicolor/"
gtk4-update-icon-cache -q -t -f "$stage/share/icons/Adwaita"
gtk4-update-icon-cache -q -t -f "$stage/share/icons/hicolor"

echo "== translations"
# Ours came with meson install; add GTK's, libadwaita's and GLib's for the
# same languages so the dialogs they draw speak the same language.
for lang_dir in "$stage"/share/locale/*/; do
  lang=$(basename "$lang_dir")
  for domain in gtk40 libadwaita glib20; do
    if [ -f "$prefix/share/locale/$lang/LC_MESSAGES/$domain.mo" ]; then
      cp "$prefix/share/locale/$lang/LC_MESSAGES/$domain.mo" "$stage/share/locale/$lang/LC_MESSAGES/"
    fi
  done
done

if [ -n "$qemu_dir" ]; then
  echo "== QEMU from $qemu_dir"
  for exe in qemu-system-x86_64.exe qemu-img.exe; do
    [ -f "$qemu_dir/$exe" ] || { echo "build-bundle.sh: $qemu_dir has no $exe" >&2; exit 1; }
  done
  mkdir -p "$stage/bin/qemu"
  cp -R "$qemu_dir/." "$stage/bin/qemu/"
fi

# Nothing a user runs needs headers, import libraries or pkg-config files.
rm -rf "$stage/include" "$stage/lib/pkgconfig"
find "$stage" -name '*.a' -delete

echo "== $output"
rm -f "$output"
(cd "$work" && zip -qr9 "$output" "$(basename "$stage")")
du -h "$output"
