#!/bin/sh
# %pre of the watchpost-hq .rpm: the service user, before the files land.
getent group watchpost-hq >/dev/null || groupadd -r watchpost-hq
getent passwd watchpost-hq >/dev/null || useradd -r -g watchpost-hq -d /var/lib/watchpost-hq -M \
	-s /sbin/nologin -c "Watchpost headquarters" watchpost-hq
exit 0
