# Shell functions of the .deb maintainer scripts (copied in at build time
# where a script says "# @include lib-deb.sh").

# deb_enable UNIT enables UNIT (on a fresh install) or refreshes its
# enablement symlinks, as dh_installsystemd does: deb-systemd-helper
# (init-system-helpers, which is Essential) works without a running
# systemd, as in a chroot. Then a running systemd reloads its units.
deb_enable() {
	deb-systemd-helper unmask "$1" >/dev/null || true
	if deb-systemd-helper --quiet was-enabled "$1"; then
		deb-systemd-helper enable "$1" >/dev/null || true
	else
		deb-systemd-helper update-state "$1" >/dev/null || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
}

# deb_unit_removed remove|purge UNIT: on remove, a running systemd reloads
# its units and UNIT is masked; on purge, systemd's state of UNIT goes.
deb_unit_removed() {
	case "$1" in
	remove)
		if [ -d /run/systemd/system ]; then
			systemctl --system daemon-reload >/dev/null || true
		fi
		if command -v deb-systemd-helper >/dev/null; then
			deb-systemd-helper mask "$2" >/dev/null || true
		fi
		;;
	purge)
		if command -v deb-systemd-helper >/dev/null; then
			deb-systemd-helper purge "$2" >/dev/null || true
			deb-systemd-helper unmask "$2" >/dev/null || true
		fi
		;;
	esac
}

# deb_deluser NAME deletes the system user NAME and its group, if present.
deb_deluser() {
	if getent passwd "$1" >/dev/null; then
		if command -v deluser >/dev/null; then
			deluser --system --quiet "$1" >/dev/null || true
		else
			userdel "$1" >/dev/null 2>&1 || true
		fi
	fi
	if getent group "$1" >/dev/null; then
		if command -v delgroup >/dev/null; then
			delgroup --system --quiet "$1" >/dev/null || true
		else
			groupdel "$1" >/dev/null 2>&1 || true
		fi
	fi
}
