#!/usr/bin/env bash
# packaging/ci.sh: builds every package with `go run ./packaging` and tests
# them: lintian on each .deb (no errors), rpm metadata and file lists,
# the .msi's tables (File, ServiceInstall, ServiceControl, Upgrade, the
# custom actions), the Authenticode signatures, SHA256SUMS, reproducibility
# (a second build gives identical binaries and .deb/.rpm), and a real
# install, upgrade, remove and purge of the watchpost and watchpost-hq .debs
# in a minimal Debian root, and systemd-analyze verify of both units
# (debootstrap, cached as a tarball under $WATCHPOST_CACHE).
#
# Run from anywhere: bash packaging/ci.sh. Needs root (apt-get, chroot).
# WATCHPOST_CACHE (default ~/.cache/watchpost) holds the Debian root;
# WATCHPOST_SKIP_INSTALL_TEST=1 skips the chroot part.
# No pipefail: most pipelines end in `grep -q`, which closes the pipe
# early; a failing producer shows up as a failed check instead.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
script=ci.sh label=packaging
# shellcheck source=packaging/testlib.sh
. "$root/packaging/testlib.sh"
# shown passes its input on and prints it to stderr too (not `tee
# /dev/stderr`, which truncates a log file that stderr is redirected to).
shown() { local o; o=$(cat); printf '%s\n' "$o" >&2; printf '%s\n' "$o"; }

step "tools (wixl msitools lintian rpm cpio debootstrap osslsigncode)"
need=()
for pair in wixl:wixl msiinfo:msitools msibuild:msitools msiextract:msitools rpm2cpio:rpm cpio:cpio lintian:lintian rpm:rpm debootstrap:debootstrap osslsigncode:osslsigncode sha256sum:coreutils; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  readarray -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"

work=$(mktemp -d /tmp/watchpost-packaging-ci.XXXXXX)
chroot_dir=""
cleanup() {
  if [ -n "$chroot_dir" ]; then
    umount "$chroot_dir/proc" 2>/dev/null || umount -l "$chroot_dir/proc" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A fixed date, so both builds below stamp the same one even if the tree
# is dirty; CI's SOURCE_DATE_EPOCH wins.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"

step "build: go run ./packaging --out dist"
go run ./packaging --out dist
dist="$root/dist"
ls -l "$dist" "$dist"/bin/*
version=$(sed -n 's/^.*  watchpost_\(.*\)_amd64\.deb$/\1/p' "$dist/SHA256SUMS")
[ -n "$version" ] || fail "no watchpost amd64 .deb in SHA256SUMS"
echo "version $version"

step "SHA256SUMS"
(cd "$dist" && sha256sum --check --quiet SHA256SUMS) || fail "SHA256SUMS does not match"
for f in "watchpost_${version}_amd64.deb" "watchpost_${version}_arm64.deb" "watchpost-hq_${version}_amd64.deb" "watchpost-hq_${version}_arm64.deb" \
         "watchpost-${version}-1.x86_64.rpm" "watchpost-${version}-1.aarch64.rpm" "watchpost-hq-${version}-1.x86_64.rpm" "watchpost-hq-${version}-1.aarch64.rpm" \
         "watchpost-${version}-x64.msi" bin/linux_amd64/watchpost bin/linux_arm64/watchpost bin/windows_amd64/watchpost.exe; do
  grep -q "  $f\$" "$dist/SHA256SUMS" || fail "$f missing from SHA256SUMS"
done
ok "SHA256SUMS lists and matches every artifact"

step "version stamped in"
out=$("$dist/bin/linux_amd64/watchpost" version)
echo "$out"
case "$out" in "watchpost $version (commit "*", built "*")") ;; *) fail "watchpost version: $out" ;; esac
case "$out" in *"commit unknown"*|*"built unknown"*) fail "commit or date not stamped: $out" ;; esac
"$dist/bin/linux_amd64/watchpost-hq" version | grep -q "^watchpost-hq $version " || fail "watchpost-hq version"
ok "version, commit and date stamped"

step "lintian"
for deb in "$dist"/*.deb; do
  echo "-- $(basename "$deb")"
  rc=0; lintian --tag-display-limit 0 --fail-on error "$deb" > "$work/lintian.txt" 2>&1 || rc=$?
  grep -v 'running with root privileges' "$work/lintian.txt" || true
  if [ "$rc" != 0 ] || grep -q '^E: ' "$work/lintian.txt"; then fail "lintian errors in $(basename "$deb") (exit $rc)"; fi
done
ok "lintian: no errors on $(ls "$dist"/*.deb | wc -l) packages"

step "deb contents"
deb="$dist/watchpost_${version}_amd64.deb"
dpkg-deb --info "$deb" > "$work/info.txt"
dpkg-deb --contents "$deb" > "$work/contents.txt"
cat "$work/contents.txt"
for p in ./usr/bin/watchpost ./etc/watchpost/watchpost.yaml ./usr/lib/systemd/system/watchpost.service ./usr/share/doc/watchpost/copyright ./usr/share/doc/watchpost/changelog.gz; do
  grep -q " $p\$" "$work/contents.txt" || fail "$p not in the .deb"
done
grep -q '^-rwxr-xr-x root/root .* ./usr/bin/watchpost$' "$work/contents.txt" || fail "/usr/bin/watchpost mode or owner"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles > "$work/conffiles"
grep -qx /etc/watchpost/watchpost.yaml "$work/conffiles" || fail "watchpost.yaml is not a conffile"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/watchpost.service | cmp - packaging/systemd/watchpost.service || fail "the unit differs from packaging/systemd/watchpost.service"
for s in postinst prerm postrm; do dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -qx "./$s" || fail "no $s"; done
grep -q '^ Depends: adduser' "$work/info.txt" || fail "no Depends: adduser"
# The packaged config names the key postinst makes (not shipped: made on
# the post, never in the package).
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/watchpost/watchpost.yaml > "$work/packaged.yaml"
grep -qx '  encryption_key_file: store.key' "$work/packaged.yaml" || fail "the packaged config does not set store.encryption_key_file: store.key"
grep -q "Back it up to HQ's key safe" "$work/packaged.yaml" || fail "the packaged config does not say to back up the key"
! grep -q 'store.key$' "$work/contents.txt" || fail "the .deb ships a store key"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst | grep -q 'watchpost config new-store-key "$storekey"' || fail "postinst does not make the store key"
ok "deb: files, conffile, unit, maintainer scripts; config names store.key, made by postinst"

step "watchpost-hq deb contents; systemd-analyze verify of both units"
hqdeb="$dist/watchpost-hq_${version}_amd64.deb"
dpkg-deb --contents "$hqdeb" > "$work/hq-contents.txt"
cat "$work/hq-contents.txt"
for p in ./usr/bin/watchpost-hq ./etc/watchpost-hq/serve.env ./usr/lib/systemd/system/watchpost-hq.service ./usr/lib/watchpost-hq/serve-configured ./usr/share/doc/watchpost-hq/copyright; do
  grep -q " $p\$" "$work/hq-contents.txt" || fail "$p not in the watchpost-hq .deb"
done
grep -q '^-rwxr-xr-x root/root .* ./usr/lib/watchpost-hq/serve-configured$' "$work/hq-contents.txt" || fail "serve-configured mode"
dpkg-deb --ctrl-tarfile "$hqdeb" | tar -xO ./conffiles | grep -qx /etc/watchpost-hq/serve.env || fail "serve.env is not a conffile"
for s in postinst prerm postrm; do dpkg-deb --ctrl-tarfile "$hqdeb" | tar -t | grep -qx "./$s" || fail "watchpost-hq: no $s"; done
dpkg-deb -f "$hqdeb" Depends | grep -q adduser || fail "watchpost-hq: no Depends: adduser"
mkdir -p "$work/hqx" && dpkg-deb -x "$hqdeb" "$work/hqx"
cmp "$work/hqx/usr/lib/systemd/system/watchpost-hq.service" packaging/systemd/watchpost-hq.service || fail "the HQ unit differs from packaging/systemd/watchpost-hq.service"
cmp "$work/hqx/etc/watchpost-hq/serve.env" packaging/systemd/watchpost-hq-serve.env || fail "serve.env differs"
if command -v systemd-analyze >/dev/null 2>&1; then
  # The packaged units, with their programs at the extracted paths (the
  # build host has none installed); any warning fails.
  x="$work/hqx"
  sed -e "s#/usr/bin/watchpost-hq #$x/usr/bin/watchpost-hq #; s#/usr/lib/watchpost-hq/serve-configured #$x/usr/lib/watchpost-hq/serve-configured #" \
    "$x/usr/lib/systemd/system/watchpost-hq.service" > "$work/watchpost-hq.service"
  dpkg-deb -x "$deb" "$work/px"
  sed -e "s#/usr/bin/watchpost #$work/px/usr/bin/watchpost #" "$work/px/usr/lib/systemd/system/watchpost.service" > "$work/watchpost.service"
  for u in watchpost-hq.service watchpost.service; do
    rc=0; systemd-analyze verify --man=no "$work/$u" > "$work/verify-$u.txt" 2>&1 || rc=$?
    cat "$work/verify-$u.txt"
    [ "$rc" = 0 ] && [ ! -s "$work/verify-$u.txt" ] || fail "systemd-analyze verify $u (exit $rc)"
  done
  ok "watchpost-hq deb: files, conffile serve.env, unit, helper, scripts; systemd-analyze verify: both units clean"
else
  ok "watchpost-hq deb: files, conffile serve.env, unit, helper, scripts (no systemd-analyze here: verify skipped)"
fi

step "rpm metadata and files"
for arch in x86_64 aarch64; do
  r="$dist/watchpost-${version}-1.$arch.rpm"
  rpm -qip "$r" > "$work/rpm-info.txt" 2>/dev/null
  cat "$work/rpm-info.txt"
  grep -q "^Name *: watchpost$" "$work/rpm-info.txt" || fail "rpm name"
  grep -q "^Version *: ${version}$" "$work/rpm-info.txt" || fail "rpm version"
  grep -q "^Architecture: $arch$" "$work/rpm-info.txt" || fail "rpm arch"
  rpm -qlp "$r" > "$work/rpm-files.txt" 2>/dev/null
  for p in /usr/bin/watchpost /etc/watchpost/watchpost.yaml /usr/lib/systemd/system/watchpost.service /usr/share/doc/watchpost/copyright; do
    grep -qx "$p" "$work/rpm-files.txt" || fail "$p not in $(basename "$r")"
  done
  rpm -qcp "$r" 2>/dev/null | grep -qx /etc/watchpost/watchpost.yaml || fail "watchpost.yaml is not %config in the rpm"
  rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$r" 2>/dev/null | grep -qx 'cn /etc/watchpost/watchpost.yaml' || fail "watchpost.yaml is not %config(noreplace)"
  rpm -qp --scripts "$r" 2>/dev/null | grep -q 'useradd -r' || fail "no useradd in the rpm scripts"
  rpm -qp --scripts "$r" 2>/dev/null | grep -q 'config new-store-key "$storekey"' || fail "the rpm %post does not make the store key"
  ! grep -q 'store.key$' "$work/rpm-files.txt" || fail "the rpm ships a store key"
  rpm2cpio "$r" | cpio -i --quiet --to-stdout /etc/watchpost/watchpost.yaml > "$work/rpm-config.yaml"
  grep -qx '  encryption_key_file: store.key' "$work/rpm-config.yaml" || fail "the rpm's config does not set store.encryption_key_file: store.key"
  hr="$dist/watchpost-hq-${version}-1.$arch.rpm"
  rpm -qlp "$hr" > "$work/hq-rpm-files.txt" 2>/dev/null
  for p in /usr/bin/watchpost-hq /etc/watchpost-hq/serve.env /usr/lib/systemd/system/watchpost-hq.service /usr/lib/watchpost-hq/serve-configured; do
    grep -qx "$p" "$work/hq-rpm-files.txt" || fail "$p not in $(basename "$hr")"
  done
  rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$hr" 2>/dev/null | grep -qx 'cn /etc/watchpost-hq/serve.env' || fail "serve.env is not %config(noreplace)"
  rpm -qp --scripts "$hr" 2>/dev/null | grep -q 'useradd -r -g watchpost-hq' || fail "no useradd in the watchpost-hq rpm scripts"
  rpm -qp --scripts "$hr" 2>/dev/null | grep -q 'serve-configured' || fail "the watchpost-hq rpm %post does not check serve-configured"
  ! rpm -qp --scripts "$hr" 2>/dev/null | grep -q 'new-store-key' || fail "the watchpost-hq rpm makes a post store key"
done
ok "rpm: metadata, files, %config(noreplace), scripts (store key made by %post), config names store.key"

step "msi tables"
msi="$dist/watchpost-${version}-x64.msi"
msiinfo tables "$msi" > "$work/tables.txt"
for t in File Component ServiceInstall ServiceControl Upgrade Registry CustomAction InstallExecuteSequence; do
  grep -qx "$t" "$work/tables.txt" || fail "no $t table"
done
exp() { msiinfo export "$msi" "$1" | tr -d '\r' | tail -n +4; }
exp File | shown | grep -q $'^WatchpostExe\tDaemon\twatchpost.exe\t' || fail "File row for watchpost.exe"
exp File | grep -q $'^WatchpostYaml\tConfig\twatchpost.yaml\t' || fail "File row for watchpost.yaml"
exp ServiceInstall | shown | grep -q $'^WatchpostService\twatchpost\tWatchpost\t16\t2\t1\t\t\tLocalSystem\t\trun --service --config "\[CommonAppDataFolder\]Watchpost\\\\watchpost.yaml"\tDaemon' \
  || fail "ServiceInstall: own process, auto start, LocalSystem, run --service --config"
# 162 = stop on install (upgrade) + stop and delete on uninstall; no start.
exp ServiceControl | shown | grep -q $'^WatchpostServiceControl\twatchpost\t162\t' || fail "ServiceControl events"
exp Upgrade | shown | grep -q $'^{6F1E2A4B-8C3D-4E5F-9A0B-1C2D3E4F5A6B}\t\t.*\t513\t\tWIX_UPGRADE_DETECTED$' || fail "Upgrade row (UpgradeCode, same-version upgrades)"
exp Property | grep -qx $'UpgradeCode\t{6F1E2A4B-8C3D-4E5F-9A0B-1C2D3E4F5A6B}' || fail "UpgradeCode property"
exp Component | shown | grep -q $'^Config\t.*\tDATAROOT\t400\t' || fail "Config component: Permanent + NeverOverwrite"
exp Component | grep -q $'^DataDir\t.*\tDATADIR\t272\t' || fail "DataDir component: Permanent"
exp Registry | shown | grep -q $'EventLog\\\\Application\\\\watchpost\\\\\tEventMessageFile\t#%%SystemRoot%\\\\System32\\\\EventCreate.exe\t' || fail "Event Log source"
exp CustomAction > "$work/ca.txt"; cat "$work/ca.txt"
# Quoted command line, recovery actions, restart on non-crash failures and
# delayed start: `watchpost service configure`, deferred as LocalSystem;
# no sc.exe failure/failureflag (Wine's sc has no failureflag).
grep -q $'^WatchpostServiceConfig\t3106\tINSTALLDIR\t"\[INSTALLDIR\]watchpost.exe" service configure --config "\[CommonAppDataFolder\]Watchpost\\\\watchpost.yaml"\t' "$work/ca.txt" || fail "service configure custom action"
! grep -q 'sc.exe" failure' "$work/ca.txt" || fail "a custom action still runs sc failure/failureflag"
grep -q 'icacls.exe" "\[DATAROOT\]." /inheritance:r' "$work/ca.txt" || fail "ACL custom action"
grep -q 'config check --config' "$work/ca.txt" || fail "start-if-configured custom action"
# The store key: made (deferred, LocalSystem: 3106, failure not ignored)
# only when there is none, after the ACL (5812), before the start (5910).
grep -q $'^WatchpostStoreKey\t3106\tINSTALLDIR\t"\[System64Folder\]cmd.exe" /c if not exist "\[CommonAppDataFolder\]Watchpost\\\\store.key" ("\[INSTALLDIR\]watchpost.exe" config new-store-key "\[CommonAppDataFolder\]Watchpost\\\\store.key")\t' "$work/ca.txt" \
  || fail "store key custom action"
exp InstallExecuteSequence > "$work/seq.txt"
grep -qx $'WatchpostStoreKey\tNOT REMOVE~="ALL"\t5813' "$work/seq.txt" || fail "store key custom action sequence (5813, not on uninstall)"
# The Windows config in the cabinet names it.
mkdir -p "$work/msix" && (cd "$work/msix" && msiextract "$msi" >/dev/null)
wincfg=$(find "$work/msix" -name watchpost.yaml | head -n 1)
[ -n "$wincfg" ] || fail "no watchpost.yaml in the .msi"
tr -d '\r' < "$wincfg" | grep -qx '  encryption_key_file: store.key' || fail "the Windows config does not set store.encryption_key_file: store.key"
tr -d '\r' < "$wincfg" | grep -q 'C:\\ProgramData\\Watchpost\\store.key' || fail "the Windows config's comment does not name the key"
ok "msi: File, ServiceInstall (--service), ServiceControl, Upgrade, components, Event Log, custom actions (service configure, store key if none); config names store.key"

step "Authenticode signatures (test CA)"
ca="$dist/watchpost-TEST-codesign-ca.crt"
for f in "$msi" "$dist/bin/windows_amd64/watchpost.exe" "$dist/bin/windows_amd64/watchpost-hq.exe"; do
  osslsigncode verify -CAfile "$ca" -in "$f" > "$work/verify.txt" 2>&1 || { cat "$work/verify.txt"; fail "signature of $(basename "$f")"; }
  grep -q 'Signature verification: ok' "$work/verify.txt" || fail "signature of $(basename "$f")"
done
openssl x509 -in "$ca" -noout -subject
ok "msi and exe signatures verify against the test CA"

step "reproducibility: a second build into $work/dist2"
go run ./packaging --out "$work/dist2" >/dev/null 2>&1 || go run ./packaging --out "$work/dist2"
# Linux binaries, .deb and .rpm must be identical; the Windows files
# carry a fresh signature (new test key, signing time), so their
# unsigned bytes are compared.
compare=$(grep -v -e '\.msi$' -e '\.exe$' -e 'TEST-codesign' "$dist/SHA256SUMS")
diff <(echo "$compare") <(grep -v -e '\.msi$' -e '\.exe$' -e 'TEST-codesign' "$work/dist2/SHA256SUMS") || fail "second build differs"
for exe in watchpost.exe watchpost-hq.exe; do
  osslsigncode remove-signature -in "$dist/bin/windows_amd64/$exe" -out "$work/a-$exe" >/dev/null
  osslsigncode remove-signature -in "$work/dist2/bin/windows_amd64/$exe" -out "$work/b-$exe" >/dev/null
  cmp "$work/a-$exe" "$work/b-$exe" || fail "$exe differs between builds (unsigned)"
done
ok "two builds: identical binaries, .deb and .rpm ($(echo "$compare" | wc -l) files), identical unsigned .exe"

if [ "${WATCHPOST_SKIP_INSTALL_TEST:-}" = 1 ]; then
  step "install test skipped (WATCHPOST_SKIP_INSTALL_TEST=1)"
  echo "$passed passed, 0 failed"
  exit 0
fi

step "upgrade build (--version ${version}+ciupgrade, amd64 .deb only)"
go run ./packaging --out "$work/dist-up" --version "${version}+ciupgrade" --linux-arches amd64 --skip-rpm --skip-msi
newdeb="$work/dist-up/watchpost_${version}+ciupgrade_amd64.deb"
newhqdeb="$work/dist-up/watchpost-hq_${version}+ciupgrade_amd64.deb"
[ -f "$newdeb" ] && [ -f "$newhqdeb" ] || fail "no upgrade .deb"

step "Debian root (debootstrap --variant=minbase bookworm, cached)"
cache="${WATCHPOST_CACHE:-$HOME/.cache/watchpost}"
mkdir -p "$cache"
tarball="$cache/debroot-bookworm.tar"
mirror=$(debian_mirror)
chroot_dir="$work/root"
mkdir -p "$chroot_dir"
if [ -s "$tarball" ]; then
  echo "using the cached root $tarball"
else
  echo "debootstrap from $mirror (first run; cached afterwards)"
  debootstrap --variant=minbase --include=adduser bookworm "$work/bootstrap" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log"; fail "debootstrap"; }
  rm -rf "$work/bootstrap"/var/cache/apt/archives/*.deb "$work/bootstrap"/var/lib/apt/lists/*
  tar -C "$work/bootstrap" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$work/bootstrap"
fi
tar -C "$chroot_dir" -xf "$tarball"

in_root() { chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
mode=chroot
if ! mount -t proc proc "$chroot_dir/proc" 2>"$work/mount.err" || ! in_root /bin/true 2>>"$work/mount.err"; then
  mode=dpkg-root
  echo "chroot or mounting /proc is not allowed here ($(cat "$work/mount.err")): falling back to dpkg --root checks"
fi
echo "install test mode: $mode"

if [ "$mode" = chroot ]; then
  step "install: dpkg -i $(basename "$deb")"
  cp "$deb" "$newdeb" "$chroot_dir/tmp/"
  in_root dpkg -i "/tmp/$(basename "$deb")" 2>&1 | tee "$work/install.txt"
  grep -q 'enabled but NOT started' "$work/install.txt" || fail "postinst did not say the service is not started"
  grep -q 'post_id' "$work/install.txt" || fail "postinst did not report the missing post_id"
  in_root dpkg-query -W -f '${Status} ${Version}\n' watchpost | grep -q "^install ok installed $version\$" || fail "not installed"

  step "user, paths, permissions, unit"
  in_root getent passwd watchpost | shown | grep -q '^watchpost:x:[0-9]*:[0-9]*:.*:/var/lib/watchpost:/usr/sbin/nologin$' || fail "user watchpost"
  uid=$(in_root id -u watchpost); [ "$uid" -lt 1000 ] || fail "watchpost is not a system user (uid $uid)"
  in_root getent group watchpost >/dev/null || fail "group watchpost"
  [ "$(in_root stat -c '%U:%G %a' /var/lib/watchpost)" = "watchpost:watchpost 700" ] || fail "/var/lib/watchpost: $(in_root stat -c '%U:%G %a' /var/lib/watchpost)"
  [ "$(in_root stat -c '%U:%G %a' /etc/watchpost/watchpost.yaml)" = "root:root 644" ] || fail "/etc/watchpost/watchpost.yaml"
  cmp "$chroot_dir/usr/lib/systemd/system/watchpost.service" packaging/systemd/watchpost.service || fail "installed unit differs"
  [ -L "$chroot_dir/etc/systemd/system/multi-user.target.wants/watchpost.service" ] || fail "the service is not enabled (no multi-user.target.wants link)"
  ok "installed: system user, /var/lib/watchpost watchpost 0700, config, unit, enabled"

  step "store encryption key made by postinst"
  [ -f "$chroot_dir/etc/watchpost/store.key" ] || fail "no /etc/watchpost/store.key"
  grep -qE '^[0-9a-f]{64}$' "$chroot_dir/etc/watchpost/store.key" && [ "$(wc -l < "$chroot_dir/etc/watchpost/store.key")" = 1 ] || fail "store.key is not one line of 64 hex digits"
  [ "$(in_root stat -c '%U:%G %a' /etc/watchpost/store.key)" = "watchpost:watchpost 600" ] || fail "/etc/watchpost/store.key: $(in_root stat -c '%U:%G %a' /etc/watchpost/store.key)"
  grep -q "made the store encryption key /etc/watchpost/store.key: back it up to HQ's key safe" "$work/install.txt" || fail "postinst did not tell to back up the key"
  in_root runuser -u watchpost -- cat /etc/watchpost/store.key >/dev/null || fail "user watchpost cannot read the key"
  cp "$chroot_dir/etc/watchpost/store.key" "$work/store.key"
  ok "store.key: 64 hex digits, watchpost:watchpost 0600, readable by the service user; postinst said to back it up"

  step "watchpost version and config check inside"
  in_root watchpost version | shown | grep -q "^watchpost $version " || fail "watchpost version inside"
  set +e; in_root watchpost config check > "$work/check.txt" 2>&1; rc=$?; set -e
  cat "$work/check.txt"
  [ "$rc" = 1 ] || fail "config check of the example config exited $rc, want 1"
  grep -q 'post_id: required' "$work/check.txt" || fail "config check did not report the missing post_id"
  grep -q 'encryption_key_file' "$work/check.txt" && fail "config check of the packaged config has a problem with the store key"
  printf '# minimal configuration written by packaging/ci.sh\npost_id: ci-post-1\nstore:\n  encryption_key_file: store.key\n' > "$chroot_dir/etc/watchpost/watchpost.yaml"
  in_root watchpost config check > "$work/check-min.txt" 2>&1 || { cat "$work/check-min.txt"; fail "config check of a minimal config"; }
  cat "$work/check-min.txt"
  grep -qi 'warn' "$work/check-min.txt" && fail "config check warns about the minimal config (key owned by watchpost, 0600)"
  ok "watchpost version; config check: example exits 1 (post_id, no key problem), minimal config with the store key exits 0, no warning"

  step "watchpost doctor: store encryption"
  rc=0; in_root timeout 60 watchpost doctor --config /etc/watchpost/watchpost.yaml > "$work/doctor.txt" 2>&1 || rc=$?
  cat "$work/doctor.txt"
  if grep -q '^store encryption ' "$work/doctor.txt"; then
    grep '^store encryption ' "$work/doctor.txt" | grep -qE '^store encryption +ok ' || fail "doctor's store encryption check is not ok"
    ok "doctor (exit $rc, other checks as a bare chroot gives them): store encryption ok"
  else
    echo "doctor did not run here (exit $rc): store encryption check skipped"
  fi

  step "upgrade to $(basename "$newdeb"); the edited config survives"
  echo '# edited by the technician' >> "$chroot_dir/etc/watchpost/watchpost.yaml"
  cp "$chroot_dir/etc/watchpost/watchpost.yaml" "$work/edited.yaml"
  echo 'kept data' > "$chroot_dir/var/lib/watchpost/marker"
  in_root dpkg -i --force-confold "/tmp/$(basename "$newdeb")" 2>&1 | tee "$work/upgrade.txt"
  cmp "$work/store.key" "$chroot_dir/etc/watchpost/store.key" || fail "upgrade changed the store key"
  [ "$(in_root stat -c '%U:%G %a' /etc/watchpost/store.key)" = "watchpost:watchpost 600" ] || fail "store.key owner or mode after upgrade"
  grep -q 'made the store encryption key' "$work/upgrade.txt" && fail "upgrade made a new store key"
  grep -q 'enabled but NOT started' "$work/upgrade.txt" && fail "upgrade: a valid config was reported invalid"
  in_root dpkg-query -W -f '${Version}' watchpost | grep -qx "${version}+ciupgrade" || fail "not upgraded"
  cmp "$work/edited.yaml" "$chroot_dir/etc/watchpost/watchpost.yaml" || fail "upgrade changed the edited config"
  [ ! -e "$chroot_dir/etc/watchpost/watchpost.yaml.dpkg-dist" ] || echo "note: dpkg left watchpost.yaml.dpkg-dist (the new example)"
  in_root watchpost version | grep -q "^watchpost ${version}+ciupgrade " || fail "binary not upgraded"
  [ -f "$chroot_dir/var/lib/watchpost/marker" ] || fail "upgrade lost the data"
  ok "upgrade: new binary, edited config, data and the same store key kept"

  step "dpkg -r: data and config kept"
  in_root dpkg -r watchpost
  [ ! -e "$chroot_dir/usr/bin/watchpost" ] || fail "binary left after remove"
  [ -f "$chroot_dir/var/lib/watchpost/marker" ] || fail "remove deleted the data"
  cmp "$work/edited.yaml" "$chroot_dir/etc/watchpost/watchpost.yaml" || fail "remove changed the config"
  cmp "$work/store.key" "$chroot_dir/etc/watchpost/store.key" || fail "remove changed or deleted the store key"
  in_root getent passwd watchpost >/dev/null || fail "remove deleted the user"
  in_root dpkg-query -W -f '${Status}\n' watchpost | grep -q 'deinstall ok config-files' || fail "status after remove"
  ok "remove: binary gone; data, config, store key and user kept"

  step "dpkg -P: purged"
  in_root dpkg -P watchpost 2>&1 | tee "$work/purge.txt"
  [ ! -e "$chroot_dir/var/lib/watchpost" ] || fail "purge left /var/lib/watchpost"
  [ ! -e "$chroot_dir/etc/watchpost/store.key" ] || fail "purge left /etc/watchpost/store.key"
  [ ! -e "$chroot_dir/etc/watchpost" ] || fail "purge left /etc/watchpost"
  ! in_root getent passwd watchpost >/dev/null || fail "purge left the user"
  ! in_root getent group watchpost >/dev/null || fail "purge left the group"
  [ ! -e "$chroot_dir/etc/systemd/system/multi-user.target.wants/watchpost.service" ] || fail "purge left the enablement link"
  if in_root dpkg-query -W watchpost >/dev/null 2>&1; then
    in_root dpkg-query -W -f '${Status}\n' watchpost | grep -q 'not-installed' || fail "still known to dpkg after purge"
  fi
  ok "purge: data, config, store key, user, group and enablement gone"

  step "watchpost-hq: install"
  cp "$hqdeb" "$newhqdeb" "$chroot_dir/tmp/"
  in_root dpkg -i "/tmp/$(basename "$hqdeb")" 2>&1 | tee "$work/hq-install.txt"
  grep -q 'enabled but NOT started' "$work/hq-install.txt" || fail "watchpost-hq postinst did not say the service is not started"
  grep -q 'no signing key /var/lib/watchpost-hq/keys/hq.key' "$work/hq-install.txt" || fail "watchpost-hq postinst did not name the missing key"
  in_root watchpost-hq version | grep -q "^watchpost-hq $version " || fail "watchpost-hq version inside"
  grep -q 'store encryption key' "$work/hq-install.txt" && fail "watchpost-hq postinst made a post store key"
  in_root getent passwd watchpost-hq | shown | grep -q '^watchpost-hq:x:[0-9]*:[0-9]*:.*:/var/lib/watchpost-hq:/usr/sbin/nologin$' || fail "user watchpost-hq"
  uid=$(in_root id -u watchpost-hq); [ "$uid" -lt 1000 ] || fail "watchpost-hq is not a system user (uid $uid)"
  in_root getent group watchpost-hq >/dev/null || fail "group watchpost-hq"
  [ "$(in_root stat -c '%U:%G %a' /var/lib/watchpost-hq)" = "watchpost-hq:watchpost-hq 700" ] || fail "/var/lib/watchpost-hq: $(in_root stat -c '%U:%G %a' /var/lib/watchpost-hq)"
  [ "$(in_root stat -c '%U:%G %a' /etc/watchpost-hq/serve.env)" = "root:root 644" ] || fail "/etc/watchpost-hq/serve.env"
  cmp "$chroot_dir/usr/lib/systemd/system/watchpost-hq.service" packaging/systemd/watchpost-hq.service || fail "installed HQ unit differs"
  [ -L "$chroot_dir/etc/systemd/system/multi-user.target.wants/watchpost-hq.service" ] || fail "watchpost-hq.service is not enabled"
  ok "watchpost-hq installed: system user, /var/lib/watchpost-hq 0700, serve.env, unit, enabled, not started (no key)"

  step "watchpost-hq: keygen as watchpost-hq; the check passes"
  in_root runuser -u watchpost-hq -- watchpost-hq keygen --dir /var/lib/watchpost-hq/keys | shown | grep -q '^private key: /var/lib/watchpost-hq/keys/hq.key' || fail "keygen"
  [ "$(in_root stat -c '%U %a' /var/lib/watchpost-hq/keys/hq.key)" = "watchpost-hq 600" ] || fail "hq.key owner or mode"
  in_root sh -c 'set -f; . /etc/watchpost-hq/serve.env; runuser -u watchpost-hq -- /usr/lib/watchpost-hq/serve-configured $WATCHPOST_HQ_SERVE_ARGS' || fail "serve-configured after keygen"
  ok "keygen as watchpost-hq (hq.key 0600); serve-configured passes"

  step "watchpost-hq: upgrade to $(basename "$newhqdeb"); the edited serve.env and the key survive"
  echo '# edited by the HQ administrator' >> "$chroot_dir/etc/watchpost-hq/serve.env"
  cp "$chroot_dir/etc/watchpost-hq/serve.env" "$work/edited.env"
  cp "$chroot_dir/var/lib/watchpost-hq/keys/hq.key" "$work/hq.key"
  in_root dpkg -i --force-confold "/tmp/$(basename "$newhqdeb")" 2>&1 | tee "$work/hq-upgrade.txt"
  grep -q 'NOT started' "$work/hq-upgrade.txt" && fail "upgrade: a configured HQ was reported not configured"
  in_root dpkg-query -W -f '${Version}' watchpost-hq | grep -qx "${version}+ciupgrade" || fail "watchpost-hq not upgraded"
  cmp "$work/edited.env" "$chroot_dir/etc/watchpost-hq/serve.env" || fail "upgrade changed the edited serve.env"
  cmp "$work/hq.key" "$chroot_dir/var/lib/watchpost-hq/keys/hq.key" || fail "upgrade lost the signing key"
  [ "$(in_root stat -c '%U:%G %a' /var/lib/watchpost-hq)" = "watchpost-hq:watchpost-hq 700" ] || fail "/var/lib/watchpost-hq after upgrade"
  ok "watchpost-hq upgrade: new binary, edited serve.env and the key kept"

  step "watchpost-hq: dpkg -r keeps data, config and user; dpkg -P purges"
  in_root dpkg -r watchpost-hq
  [ ! -e "$chroot_dir/usr/bin/watchpost-hq" ] || fail "watchpost-hq binary left after remove"
  cmp "$work/hq.key" "$chroot_dir/var/lib/watchpost-hq/keys/hq.key" || fail "remove deleted the key"
  cmp "$work/edited.env" "$chroot_dir/etc/watchpost-hq/serve.env" || fail "remove changed serve.env"
  in_root getent passwd watchpost-hq >/dev/null || fail "remove deleted the user"
  in_root dpkg -P watchpost-hq 2>&1 | tee "$work/hq-purge.txt"
  [ ! -e "$chroot_dir/var/lib/watchpost-hq" ] || fail "purge left /var/lib/watchpost-hq"
  [ ! -e "$chroot_dir/etc/watchpost-hq" ] || fail "purge left /etc/watchpost-hq"
  ! in_root getent passwd watchpost-hq >/dev/null || fail "purge left the user"
  ! in_root getent group watchpost-hq >/dev/null || fail "purge left the group"
  [ ! -e "$chroot_dir/etc/systemd/system/multi-user.target.wants/watchpost-hq.service" ] || fail "purge left the enablement link"
  ok "watchpost-hq: remove keeps key, serve.env and user; purge deletes data, config, user, group, enablement"
else
  step "dpkg --root install checks (no chroot)"
  # Maintainer scripts cannot run without a chroot: check what dpkg
  # unpacks, and the scripts' syntax.
  in_root_dpkg() { dpkg --root="$chroot_dir" --force-script-chrootless --force-not-root "$@"; }
  dpkg --root="$chroot_dir" --unpack "$deb" || fail "dpkg --root --unpack"
  [ -x "$chroot_dir/usr/bin/watchpost" ] || fail "binary not unpacked"
  [ -f "$chroot_dir/etc/watchpost/watchpost.yaml" ] || fail "config not unpacked"
  cmp "$chroot_dir/usr/lib/systemd/system/watchpost.service" packaging/systemd/watchpost.service || fail "unit"
  "$chroot_dir/usr/bin/watchpost" version | grep -q "^watchpost $version " || fail "version"
  for s in postinst prerm postrm; do sh -n "$chroot_dir/var/lib/dpkg/info/watchpost.$s" || fail "$s syntax"; done
  ok "dpkg --root: unpacked files; maintainer scripts NOT run (no chroot)"
fi

step "done"
echo "packaging: $passed passed, 0 failed"
