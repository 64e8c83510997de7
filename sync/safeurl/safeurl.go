// Package safeurl renders URLs for logs, errors and printed output. Its
// one job is that no credential written into a URL (a broker URL with
// user:password@, a snapshot URL with a token in its query) reaches a log
// line: every place, post and HQ, that logs or prints a URL goes through
// it.
package safeurl

import "net/url"

// String is raw as it may be logged or printed: without its user
// information (a password, or a user name that is a token) and with a
// query, which may carry a token, shortened to "?…". A string that does
// not parse as a URL is replaced whole, since it may be anything, a
// secret included.
func String(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return Of(u)
}

// Of is String of a parsed URL.
func Of(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" || c.ForceQuery {
		c.RawQuery, c.ForceQuery = "", false
		return c.String() + "?…"
	}
	return c.String()
}
