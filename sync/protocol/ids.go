package protocol

import (
	"errors"
	"fmt"
)

// Identities on the broker (PROTOCOL.md §1 and §7): a post's id is its
// certificate CN, its MQTT username and a level of its topics, and its
// MQTT client id is PostClientID of it.

// ClientIDPrefix starts every post's MQTT client id; HQ's client ids lie
// outside it.
const ClientIDPrefix = "watchpost-post-"

// Length limits of identities.
const (
	MaxPostIDLen   = 48
	MaxClientIDLen = 64
)

// ValidatePostID checks a post id: 1..48 bytes of [a-z0-9-], not starting
// or ending with '-'. The charset keeps MQTT wildcards, '/' and '$' out
// of identities that end up in topics and ACL patterns, where a '+' or
// '#' in a username would widen a pattern (CVE-2017-7650).
func ValidatePostID(id string) error {
	if err := checkIdent(id, MaxPostIDLen); err != nil {
		return fmt.Errorf("post id %q: %w", id, err)
	}
	return nil
}

// ValidateClientID checks an MQTT client id: 1..64 bytes of [a-z0-9-],
// not starting or ending with '-'. MQTT 3.1.1 only obliges brokers to
// accept 23 bytes; Mosquitto, mochi-mqtt, EMQX and VerneMQ accept longer
// ids.
func ValidateClientID(id string) error {
	if err := checkIdent(id, MaxClientIDLen); err != nil {
		return fmt.Errorf("client id %q: %w", id, err)
	}
	return nil
}

// PostClientID returns the MQTT client id of the post with this id.
func PostClientID(post string) (string, error) {
	if err := ValidatePostID(post); err != nil {
		return "", err
	}
	return ClientIDPrefix + post, nil
}

func checkIdent(s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("length %d, want 1..%d", len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("byte %q at %d, want [a-z0-9-]", c, i)
		}
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return errors.New("starts or ends with '-'")
	}
	return nil
}
