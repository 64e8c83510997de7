#!/bin/sh
# %pre of the watchpost .rpm: the service user, before the files land.
getent group watchpost >/dev/null || groupadd -r watchpost
getent passwd watchpost >/dev/null || useradd -r -g watchpost -d /var/lib/watchpost -M \
	-s /sbin/nologin -c "Watchpost screening service" watchpost
exit 0
