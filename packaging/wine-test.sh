#!/usr/bin/env bash
# packaging/wine-test.sh: the Windows build under Wine (Debian's wine and
# wine64), as far as Wine reaches. From the .msi and watchpost.exe that
# `go run ./packaging` built into dist/:
#   - the Windows unit tests of daemon/paths and daemon/service (the data
#     directory from the known-folder API, the quoted command line,
#     --service outside the SCM), cross-compiled and run under Wine;
#   - msiexec /i /qn in a fresh prefix: exit 0; the files; the store key
#     the installer made; the service entry (ImagePath with the executable
#     in quotes and --service, LocalSystem, automatic start, own process)
#     and the Event Log source; the service not started (no post_id yet);
#   - `watchpost service configure` run by hand, to print what Wine's SCM
#     refuses (the installer runs it too, with its output lost);
#   - a minimal configuration, a list imported into the installer's data
#     directory, `net start watchpost` (exit 0), /readyz on the local API,
#     a listed person screened (band match) and an unlisted one (none),
#     `net stop watchpost` (exit 0, STOPPED, exit code 0); nothing under
#     C:\users\Public, where Wine's service environment points ProgramData;
#   - `watchpost service install` from a path with a space: exit 0 although
#     Wine refuses delayed start and the recovery settings (warned about),
#     the service kept, quoted; then `service uninstall`;
#   - msiexec /x /qn: exit 0; program, service and Event Log source gone;
#     configuration, store key and data kept;
# then prints what Wine cannot check, for a real Windows host.
#
# Go 1.26's runtime needs bcryptprimitives.dll!ProcessPrng, which Wine 8
# lacks: a forwarding DLL (ProcessPrng -> advapi32.SystemFunction036) is
# linked here with binutils-mingw-w64 into the test prefix only. It is a
# test fixture, never shipped.
#
# Run from anywhere: bash packaging/wine-test.sh. Uses the newest
# dist/watchpost-*-x64.msi and dist/bin/windows_amd64/watchpost.exe
# (WATCHPOST_MSI=FILE and WATCHPOST_EXE=FILE pick others); with none,
# builds them into a temporary directory (unsigned). Exits 0 with
# "SKIP: <reason>" when Wine cannot be installed or run here, or when
# WATCHPOST_SKIP_WINE_TEST=1.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
script=wine-test.sh label=wine-test
# shellcheck source=packaging/testlib.sh
. "$root/packaging/testlib.sh"
unchecked=()
unchecked() { unchecked+=("$*"); }

export WINEDEBUG=-all
[ "${WATCHPOST_SKIP_WINE_TEST:-}" = 1 ] && skip "WATCHPOST_SKIP_WINE_TEST=1"
[ "$(uname -m)" = x86_64 ] || skip "runs the x64 .msi; this machine is $(uname -m)"

step "tools (wine, wine64, binutils-mingw-w64-x86-64, curl)"
need=()
command -v wine >/dev/null 2>&1 && [ -x /usr/lib/wine/wine64 ] || need+=(wine wine64)
command -v x86_64-w64-mingw32-dlltool >/dev/null 2>&1 && command -v x86_64-w64-mingw32-ld >/dev/null 2>&1 || need+=(binutils-mingw-w64-x86-64)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || skip "${need[*]} not installed, and installing needs root"
  command -v apt-get >/dev/null 2>&1 || skip "${need[*]} not installed, and no apt-get"
  echo "installing ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } \
    || skip "cannot install ${need[*]} (apt-get failed)"
fi
wine --version

work=$(mktemp -d /tmp/watchpost-wine-test.XXXXXX)
export WINEPREFIX="$work/prefix" WINEARCH=win64 WINEDEBUG=-all
hold_pid=""
cleanup() {
  if [ -n "$hold_pid" ]; then kill "$hold_pid" 2>/dev/null || true; fi
  # This prefix's wineserver only (WINEPREFIX is ours).
  if [ -d "$WINEPREFIX" ]; then wineserver -k 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
c="$WINEPREFIX/drive_c"

step "the .msi and watchpost.exe"
msi="${WATCHPOST_MSI:-$(ls -t dist/watchpost-*-x64.msi 2>/dev/null | head -n 1 || true)}"
exe="${WATCHPOST_EXE:-dist/bin/windows_amd64/watchpost.exe}"
if [ -z "$msi" ] || [ ! -f "$exe" ]; then
  echo "no dist/watchpost-*-x64.msi or dist/bin/windows_amd64/watchpost.exe: building both into $work/dist"
  export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
  go run ./packaging --out "$work/dist" --linux-arches "" --skip-sign
  msi=$(ls "$work"/dist/watchpost-*-x64.msi | head -n 1)
  exe="$work/dist/bin/windows_amd64/watchpost.exe"
fi
[ -f "$msi" ] && [ -f "$exe" ] || fail "no .msi at $msi or no watchpost.exe at $exe"
echo "$msi"
echo "$exe"

step "Wine prefix (wineboot) and the ProcessPrng forwarding DLL (test fixture)"
wineboot -i > "$work/wineboot.log" 2>&1 || { cat "$work/wineboot.log"; fail "wineboot"; }
wineserver -w
rc=0; wine "$exe" version > "$work/noshim.txt" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then
  echo "this Wine runs Go binaries without the forwarding DLL: not installed"
else
  echo "without it: exit $rc, $(tr -d '\r' < "$work/noshim.txt" | head -n 1)"
  printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng = advapi32.SystemFunction036\n' > "$work/bcp.def"
  x86_64-w64-mingw32-dlltool --def "$work/bcp.def" --dllname bcryptprimitives.dll --output-exp "$work/bcp.exp"
  # No code, no entry point: the loader resolves the forwarder to
  # advapi32 (RtlGenRandom), which fills the buffer as ProcessPrng does.
  x86_64-w64-mingw32-ld --dll -e 0 --subsystem windows -o "$work/bcryptprimitives.dll" "$work/bcp.exp"
  cp "$work/bcryptprimitives.dll" "$c/windows/system32/"
fi
wine "$exe" version | tr -d '\r' | tee "$work/version.txt"
grep -q '^watchpost ' "$work/version.txt" || fail "watchpost.exe version under Wine"
ok "watchpost.exe runs under $(wine --version)"

step "Windows unit tests under Wine (daemon/paths, daemon/service)"
for pkg in paths service; do
  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -c -o "$work/$pkg.test.exe" "./daemon/$pkg"
  rc=0; (cd "daemon/$pkg" && wine "$work/$pkg.test.exe" -test.v > "$work/$pkg.test.txt" 2>&1) || rc=$?
  tr -d '\r' < "$work/$pkg.test.txt" | grep -e '^--- ' -e '^ok' -e '^FAIL' -e '^PASS' | grep -v -e '^    ---' | sed "s/^/  $pkg: /" | head -n 40
  [ "$rc" = 0 ] || { tr -d '\r' < "$work/$pkg.test.txt" | tail -n 30; fail "go test ./daemon/$pkg under Wine (exit $rc)"; }
done
for t in TestDataDirFromKnownFolder TestImagePathQuoted TestServiceModeFromAConsole; do
  cat "$work"/*.test.txt | tr -d '\r' | grep -q "^--- PASS: $t " || fail "$t did not run"
done
ok "Windows unit tests pass under Wine: data dir from the known folder, quoted command line, --service outside the SCM"

# Wine starts the automatic services when a session's first process
# starts, and ends every service with the session's last user process: a
# process that waits on stdin holds one session from before the install
# to the end, so the service starts only when net start says so.
mkfifo "$work/hold"
sleep 86400 > "$work/hold" &
hold_pid=$!
wine cmd /c "set /p x=" < "$work/hold" > /dev/null 2>&1 &

mkdir -p "$c/wine-test"
cp "$msi" "$c/wine-test/watchpost.msi"
cp engine/importer/testdata/un_excerpt.xml "$c/wine-test/un.xml"
# Wine's reg prints "Unable to find" on stdout: the exit code tells.
regq() { local o; o=$(wine reg query "$1" 2>/dev/null) || return 0; printf '%s\n' "$o" | tr -d '\r'; }
regv() { regq "$1" | awk -v n="$2" '$1 == n { $1 = ""; $2 = ""; sub(/^  /, ""); print; exit }'; }
regt() { regq "$1" | awk -v n="$2" '$1 == n { print $2; exit }'; }
svckey='HKLM\System\CurrentControlSet\Services\watchpost'
evkey='HKLM\System\CurrentControlSet\Services\EventLog\Application\watchpost'
state() { wine sc query watchpost 2>/dev/null | tr -d '\r' | awk '$1 == "STATE" { print $4 }'; }
exitcode() { wine sc query watchpost 2>/dev/null | tr -d '\r' | awk '$1 == "WIN32_EXIT_CODE" { print $3 }'; }

step "install: msiexec /i watchpost.msi /qn"
rc=0; wine msiexec /i 'C:\wine-test\watchpost.msi' /qn /l*v 'C:\wine-test\install.log' || rc=$?
if [ "$rc" != 0 ]; then
  tr -d '\r' < "$c/wine-test/install.log" | grep -e 'Return value [03]' -e 'Watchpost' | tail -n 30
  fail "msiexec /i: exit $rc"
fi
grep -q 'WatchpostServiceConfig.*Return value 1' "$c/wine-test/install.log" || fail "the service configure action did not run"
ok "msiexec /i /qn: exit 0"

step "files"
cmp "$c/Program Files/Watchpost/watchpost.exe" "$exe" || fail "C:\\Program Files\\Watchpost\\watchpost.exe is not the built watchpost.exe"
pd="$c/ProgramData/Watchpost"
tr -d '\r' < "$pd/watchpost.yaml" | grep -qx '  encryption_key_file: store.key' || fail "C:\\ProgramData\\Watchpost\\watchpost.yaml is not the packaged configuration"
[ -d "$pd/data" ] || fail "no C:\\ProgramData\\Watchpost\\data"
tr -d '\r\n' < "$pd/store.key" | grep -qE '^[0-9a-f]{64}$' || fail "C:\\ProgramData\\Watchpost\\store.key is not 64 hex digits"
key_sum=$(sha256sum < "$pd/store.key")
ok "watchpost.exe (the built one), watchpost.yaml (packaged), data directory, store.key (made by the installer)"

step "service entry and Event Log source"
regq "$svckey" | grep -v '^$'
image=$(regv "$svckey" ImagePath)
want='"C:\Program Files\Watchpost\watchpost.exe" run --service --config C:\ProgramData\Watchpost\watchpost.yaml'
[ "$image" = "$want" ] || fail "ImagePath is [$image], want [$want]"
[ "$(regv "$svckey" ObjectName)" = LocalSystem ] || fail "ObjectName: $(regv "$svckey" ObjectName)"
[ "$(regv "$svckey" Start)" = 0x2 ] || fail "Start: $(regv "$svckey" Start), want 0x2 (automatic)"
[ "$(regv "$svckey" Type)" = 0x10 ] || fail "Type: $(regv "$svckey" Type), want 0x10 (own process)"
[ "$(regv "$svckey" ErrorControl)" = 0x1 ] || fail "ErrorControl: $(regv "$svckey" ErrorControl), want 0x1 (normal)"
regq "$evkey" | grep -v '^$'
[ "$(regt "$evkey" EventMessageFile)" = REG_EXPAND_SZ ] && [ "$(regv "$evkey" EventMessageFile)" = '%SystemRoot%\System32\EventCreate.exe' ] || fail "Event Log EventMessageFile"
[ "$(regv "$evkey" TypesSupported)" = 0x7 ] || fail "Event Log TypesSupported"
[ "$(state)" = STOPPED ] || fail "the service is $(state) after a fresh install; want STOPPED (no post_id yet)"
ok "service: quoted ImagePath with --service, LocalSystem, automatic, own process, normal error control; Event Log source; not started without a post_id"

step "watchpost service configure (what the installer ran), by hand"
P='C:\Program Files\Watchpost\watchpost.exe'
rc=0; wine "$P" service configure --config 'C:\ProgramData\Watchpost\watchpost.yaml' > "$work/configure.txt" 2>&1 || rc=$?
tr -d '\r' < "$work/configure.txt"
[ "$rc" = 0 ] || fail "service configure: exit $rc"
while read -r line; do
  unchecked "$line (refused by Wine's SCM: warned about, not applied)"
done < <(tr -d '\r' < "$work/configure.txt" | sed -n 's/.*setting="\([^:"]*\).*/\1/p')
[ "$(regv "$svckey" ImagePath)" = "$want" ] || fail "ImagePath changed by configure"
ok "service configure: exit 0, ImagePath unchanged; refusals are warnings"

step "minimal configuration, a list, net start"
port=$((20000 + RANDOM % 20000))
while (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
printf '# minimal configuration written by packaging/wine-test.sh\r\npost_id: wine-test-1\r\napi:\r\n  listen: 127.0.0.1:%s\r\nstore:\r\n  encryption_key_file: store.key\r\n' "$port" > "$pd/watchpost.yaml"
wine "$P" config check --config 'C:\ProgramData\Watchpost\watchpost.yaml' > "$work/check.txt" 2>&1 || { tr -d '\r' < "$work/check.txt"; fail "config check"; }
# Into the installer's data directory by its path; the service finds it
# through the known-folder API (its environment says C:\users\Public).
wine "$P" import --data-dir 'C:\ProgramData\Watchpost\data' --store-key-file 'C:\ProgramData\Watchpost\store.key' \
  --list un --format un-xml 'C:\wine-test\un.xml' | tr -d '\r' | tee "$work/import.txt"
grep -q '^imported un version 1: ' "$work/import.txt" || fail "import"
rc=0; wine net start watchpost > "$work/start.txt" 2>&1 || rc=$?
tr -d '\r' < "$work/start.txt"
[ "$rc" = 0 ] || fail "net start watchpost: exit $rc"
ready=""
for _ in $(seq 1 120); do
  if curl -fsS -m 2 "http://127.0.0.1:$port/readyz" > "$work/readyz.txt" 2>/dev/null; then ready=1; break; fi
  sleep 0.5
done
[ -n "$ready" ] || fail "/readyz never answered 200 ($(curl -sS -m 2 "http://127.0.0.1:$port/readyz" 2>&1 || true)); state $(state)"
[ "$(state)" = RUNNING ] || fail "state $(state) with /readyz answering"
ok "net start: exit 0; RUNNING; /readyz: $(cat "$work/readyz.txt")"

step "screen through the local API"
screen() { curl -fsS -m 10 -X POST -H 'Content-Type: application/json' -d "$1" "http://127.0.0.1:$port/v1/screen"; }
screen '{"name":"Innocent Kaina"}' > "$work/hit.json" || fail "POST /v1/screen"
head -c 400 "$work/hit.json"; echo
grep -q '^{"band":"match"' "$work/hit.json" && grep -q '"matched_name":"INNOCENT KAINA"' "$work/hit.json" || fail "Innocent Kaina (UN CDi.004) is not a match"
screen '{"name":"Wilhelmina Oosterhuis-Zandvoort"}' > "$work/miss.json" || fail "POST /v1/screen (unlisted)"
grep -q '^{"band":"none"' "$work/miss.json" || fail "an unlisted name: $(head -c 200 "$work/miss.json")"
[ ! -e "$c/users/Public/Watchpost" ] || fail "the service wrote under C:\\users\\Public (its %ProgramData%)"
ok "listed person: match (UN CDi.004); unlisted: none; the store is the installer's, nothing under C:\\users\\Public"

step "net stop"
rc=0; wine net stop watchpost > "$work/stop.txt" 2>&1 || rc=$?
tr -d '\r' < "$work/stop.txt"
[ "$rc" = 0 ] || fail "net stop watchpost: exit $rc"
# Wine's net stop can return while services.exe still reports STOP_PENDING,
# and one sc query in a busy prefix can print nothing: poll, and name what
# was seen last.
st=""
for _ in $(seq 1 60); do
  st=$(state)
  [ "$st" = STOPPED ] && break
  sleep 0.5
done
[ "$st" = STOPPED ] || fail "state '${st}' 30 s after net stop; want STOPPED"
[ "$(exitcode)" = 0 ] || fail "WIN32_EXIT_CODE $(exitcode) after net stop"
! curl -fsS -m 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 || fail "the API still answers after net stop"
ok "net stop: exit 0; STOPPED, exit code 0; the API is closed"

step "uninstall: msiexec /x watchpost.msi /qn"
rc=0; wine msiexec /x 'C:\wine-test\watchpost.msi' /qn /l*v 'C:\wine-test\uninstall.log' || rc=$?
[ "$rc" = 0 ] || { tr -d '\r' < "$c/wine-test/uninstall.log" | tail -n 30; fail "msiexec /x: exit $rc"; }
[ ! -e "$c/Program Files/Watchpost/watchpost.exe" ] || fail "watchpost.exe is still installed"
[ -z "$(regq "$svckey")" ] || { tr -d '\r' < "$c/wine-test/uninstall.log" | grep -i -e service -e 'Return value' | head -n 60; regq "$svckey"; fail "the service is still registered"; }
[ -z "$(regq "$evkey")" ] || fail "the Event Log source is still registered"
tr -d '\r' < "$pd/watchpost.yaml" | grep -qx 'post_id: wine-test-1' || fail "the configuration was not kept"
[ "$(sha256sum < "$pd/store.key")" = "$key_sum" ] || fail "store.key was not kept unchanged"
[ -d "$pd/data/store" ] || fail "the store was not kept"
ok "msiexec /x: exit 0; removed: program, service, Event Log source; kept: configuration, store.key, data"

step "watchpost service install (kardianos) from a path with a space"
mkdir -p "$c/Watch Post"
cp "$exe" "$c/Watch Post/watchpost.exe"
rc=0; wine 'C:\Watch Post\watchpost.exe' service install --config 'C:\ProgramData\Watchpost\watchpost.yaml' > "$work/install.txt" 2>&1 || rc=$?
tr -d '\r' < "$work/install.txt"
[ "$rc" = 0 ] || fail "service install: exit $rc"
grep -q 'setting="delayed automatic start' "$work/install.txt" || echo "(delayed automatic start accepted by this Wine)"
image=$(regv "$svckey" ImagePath)
want2='"C:\Watch Post\watchpost.exe" run --service --config C:\ProgramData\Watchpost\watchpost.yaml'
[ "$image" = "$want2" ] || fail "service install: ImagePath [$image], want [$want2]"
[ "$(regv "$evkey" EventMessageFile)" = '%SystemRoot%\System32\EventCreate.exe' ] || fail "service install: no Event Log source"
wine 'C:\Watch Post\watchpost.exe' service uninstall | tr -d '\r'
[ -z "$(regq "$svckey")" ] || fail "service uninstall left the service"
ok "service install: exit 0 with refused settings as warnings, service kept with a quoted ImagePath; uninstall removes it"

step "not checked under Wine (needs a real Windows host)"
unchecked "ACLs: C:\\ProgramData\\Watchpost for SYSTEM and Administrators only (Wine's icacls accepts the command and changes nothing)"
unchecked "Authenticode: Windows' trust of the signed .msi and .exe (Wine does not check; ci.sh verifies the signatures with osslsigncode)"
unchecked "Event Log writes: entries in Application from source watchpost (Wine's ReportEvent writes no log; only the source's registration is checked)"
unchecked "session 0 and the LocalSystem account: Wine runs services in the user's session as the Unix user (ObjectName is checked, not the account's rights)"
unchecked "Windows Installer itself: Wine's msi.dll (an upgrade over an older version, repair and rollback are not run here)"
for u in "${unchecked[@]}"; do echo "- $u"; done
echo
echo "wine-test: $passed passed, 0 failed, ${#unchecked[@]} not checkable under Wine ($(( $(date +%s) - start ))s)"
