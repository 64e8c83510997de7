# packaging/testlib.sh: what the packaging test scripts (ci.sh,
# systemd-test.sh, wine-test.sh) share. Each sources it after setting
# `script` (its file name, for failures) and `label` (its step prefix):
# step, fail, skip and ok (counting in $passed), and debian_mirror.
# shellcheck shell=bash
start=$(date +%s)
passed=0
step() { echo; echo "== $label: $* ($(( $(date +%s) - start ))s)"; }
fail() { echo "packaging/$script: FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 0; }
ok() { passed=$((passed + 1)); echo "ok: $*"; }

# debian_mirror prints the first non-security Debian mirror this machine's
# apt sources name, or deb.debian.org.
debian_mirror() {
  local m
  m=$(
    { grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true
      grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true
      grep -h '^deb ' /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' || true
    } | { grep -v -e security -e '^$' || true; } | head -n 1)
  echo "${m:-http://deb.debian.org/debian}"
}
