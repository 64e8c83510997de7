# Shell functions of the watchpost-hq package's scripts, .deb and .rpm
# alike (copied in at build time where a script says
# "# @include lib-hq.sh").

# hq_configured runs the same check as the unit's ExecCondition= on
# $envfile's WATCHPOST_HQ_SERVE_ARGS, as the service's user and with the
# arguments split as systemd splits them; it sets check to its output and
# fails when HQ is not configured.
hq_configured() {
	args=""
	if [ -r "$envfile" ]; then
		args=$(
			set +e
			WATCHPOST_HQ_SERVE_ARGS=""
			. "$envfile" >/dev/null 2>&1
			printf '%s' "$WATCHPOST_HQ_SERVE_ARGS"
		) || args=""
	fi
	set -f
	# shellcheck disable=SC2086 # split on whitespace, as systemd does
	if check=$(runuser -u watchpost-hq -- /usr/lib/watchpost-hq/serve-configured $args 2>&1); then
		set +f
		return 0
	fi
	set +f
	return 1
}

# hq_not_started tells the administrator that the service is enabled but
# not started because HQ is not configured ($check says why), and what to
# do next.
hq_not_started() {
	cat <<MSG
watchpost-hq: the service is enabled but NOT started: HQ is not configured yet:
$(printf '%s\n' "$check" | sed 's/^/    /')
Next steps:
  1. Make HQ's signing key (once; back up hq.key offline):
       runuser -u watchpost-hq -- watchpost-hq keygen --dir $datadir/keys
  2. Edit $envfile: the default serves this host only
     (127.0.0.1); its comments say which lines open HQ to the posts (TLS).
  3. Start it:   systemctl start watchpost-hq
  4. Check it:   systemctl status watchpost-hq; journalctl -u watchpost-hq
MSG
}
