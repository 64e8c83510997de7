package broker

import (
	"strings"

	"github.com/watchpost/watchpost/sync/protocol"
)

// rules are the topic patterns (MQTT filters) one identity may read and
// write: the protocol's access table, which the broker enforces.
type rules protocol.Access

// hqRules are the HQ account's rules.
var hqRules = rules(protocol.HQAccess())

// postRules returns post's rules; post is a valid post id, so it holds no
// wildcard and no '/'.
func postRules(post string) rules { return rules(protocol.PostAccess(post)) }

// allows reports whether r permits topic (a topic name for a publish or
// a delivery, a filter for a subscription). A filter is allowed only if
// every topic it can match is allowed by one pattern.
func (r rules) allows(topic string, write bool) bool {
	pats := r.Read
	if write {
		pats = r.Write
		if strings.ContainsAny(topic, "+#") {
			return false // a publish topic never holds a wildcard
		}
	}
	for _, p := range pats {
		if within(topic, p) {
			return true
		}
	}
	return false
}

// within reports whether every topic matched by filter is matched by
// pattern (both MQTT filters; a topic name is a filter matching itself).
// "a/#" covers "a" and everything below it, as in MQTT.
func within(filter, pattern string) bool {
	if filter == "" {
		return false
	}
	f := strings.Split(filter, "/")
	p := strings.Split(pattern, "/")
	for i, pl := range p {
		if pl == "#" {
			return true
		}
		if i >= len(f) {
			return false
		}
		fl := f[i]
		switch {
		case fl == "#":
			return false
		case pl == "+":
		case fl == "+" || fl != pl:
			return false
		}
	}
	return len(f) == len(p)
}
