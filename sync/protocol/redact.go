package protocol

import "net/url"

// RedactURL is raw as it may be logged or printed (a broker URL, HQ's
// address, a snapshot URL): without its user information (a password, or
// a user name that is a token) and with a query, which may carry a token,
// shortened to "?…". A string that does not parse as a URL is replaced
// whole, since it may be anything, a secret included. Every place that
// logs or prints a URL goes through it.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return RedactedURL(u)
}

// RedactedURL is RedactURL of a parsed URL.
func RedactedURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" || c.ForceQuery {
		c.RawQuery, c.ForceQuery = "", false
		return c.String() + "?…"
	}
	return c.String()
}
