#!/bin/sh
# /usr/lib/watchpost-hq/serve-configured ARGS...: exits 0 when
# `watchpost-hq serve ARGS...` is configured enough to start, else prints
# what is missing and exits 1. ARGS are WATCHPOST_HQ_SERVE_ARGS from
# /etc/watchpost-hq/serve.env, split on whitespace as systemd splits them.
# watchpost-hq.service runs it as ExecCondition= (as user watchpost-hq:
# exit 1 skips the start without failing the unit); the package's
# postinst runs it before starting the service.
#
# The check: the arguments are not empty, and the --key file exists and
# is readable (by watchpost-hq). serve validates every other flag itself
# (exit 2, not restarted).
if [ $# -eq 0 ]; then
	echo "watchpost-hq: not configured: WATCHPOST_HQ_SERVE_ARGS in /etc/watchpost-hq/serve.env is empty" >&2
	exit 1
fi
key=""
while [ $# -gt 0 ]; do
	case "$1" in
	--key | -key)
		key=${2:-}
		shift
		;;
	--key=* | -key=*) key=${1#*=} ;;
	esac
	shift
done
if [ -z "$key" ]; then
	echo "watchpost-hq: not configured: WATCHPOST_HQ_SERVE_ARGS in /etc/watchpost-hq/serve.env has no --key" >&2
	exit 1
fi
if [ ! -e "$key" ]; then
	echo "watchpost-hq: not configured: no signing key $key; make it with" >&2
	echo "    runuser -u watchpost-hq -- watchpost-hq keygen --dir $(dirname "$key")" >&2
	exit 1
fi
if [ ! -r "$key" ]; then
	echo "watchpost-hq: not configured: the signing key $key is not readable by $(id -un); fix with" >&2
	echo "    chown watchpost-hq:watchpost-hq $key && chmod 0600 $key" >&2
	exit 1
fi
exit 0
