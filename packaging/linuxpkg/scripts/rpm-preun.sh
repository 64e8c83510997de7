#!/bin/sh
# %preun of the watchpost .rpm ($1 is 0 on erase): stop and disable the
# service before its files go. An upgrade keeps it running until %post.
if [ "$1" -eq 0 ]; then
	systemctl --no-reload disable --now watchpost.service >/dev/null 2>&1 || :
fi
exit 0
