#!/bin/sh
# %preun of the watchpost-hq .rpm ($1 is 0 on erase): stop and disable the
# service before its files go. An upgrade keeps it running until %post.
if [ "$1" -eq 0 ]; then
	systemctl --no-reload disable --now watchpost-hq.service >/dev/null 2>&1 || :
fi
exit 0
