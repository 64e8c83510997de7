# Shell functions of the .rpm scriptlets (copied in at build time where a
# scriptlet says "# @include lib-rpm.sh"). COUNT is the scriptlet's $1:
# 1 on install, 2 or more on upgrade.

# rpm_enable COUNT UNIT: a running systemd reloads its units, and UNIT is
# enabled on the first install (systemctl enable works without a running
# systemd, as in image builds).
rpm_enable() {
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null 2>&1 || :
	fi
	if [ "$1" -eq 1 ]; then
		systemctl enable "$2" >/dev/null 2>&1 || :
	fi
}

# rpm_start COUNT UNIT starts UNIT on the first install and restarts it,
# if it runs, on an upgrade; only under a running systemd.
rpm_start() {
	if [ -d /run/systemd/system ]; then
		if [ "$1" -eq 1 ]; then
			systemctl start "$2" >/dev/null 2>&1 || :
		else
			systemctl try-restart "$2" >/dev/null 2>&1 || :
		fi
	fi
}
