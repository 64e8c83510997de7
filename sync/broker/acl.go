package broker

import "strings"

// Topic roots of the protocol (PROTOCOL.md §1).
const (
	topicLists = "watchpost/v1/lists/#"
	topicKeys  = "watchpost/v1/keys/#"
	topicPosts = "watchpost/v1/posts/"
)

// rules are the topic patterns (MQTT filters) one identity may read and
// write.
type rules struct {
	read, write []string
}

// hqRules are the HQ account's rules.
var hqRules = rules{
	read:  []string{topicPosts + "#"},
	write: []string{topicLists, topicKeys, topicPosts + "+/acks"},
}

// postRules returns post's rules; post is a valid post id, so it holds no
// wildcard and no '/'.
func postRules(post string) rules {
	p := topicPosts + post + "/"
	return rules{
		read:  []string{topicLists, topicKeys, p + "acks"},
		write: []string{p + "hits", p + "status", p + "presence"},
	}
}

// allows reports whether r permits topic (a topic name for a publish or
// a delivery, a filter for a subscription). A filter is allowed only if
// every topic it can match is allowed by one pattern.
func (r rules) allows(topic string, write bool) bool {
	pats := r.read
	if write {
		pats = r.write
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
