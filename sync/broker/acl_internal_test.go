package broker

import (
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestWithin(t *testing.T) {
	cases := []struct {
		filter, pattern string
		want            bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/b/c", "a/b", false},
		{"a", "a/b", false},
		{"a/b", "a/#", true},
		{"a", "a/#", true}, // MQTT: a/# matches a
		{"a/b/c", "a/#", true},
		{"a/#", "a/#", true},
		{"a/+", "a/#", true},
		{"#", "a/#", false},
		{"+/b", "a/#", false},
		{"a/x/acks", "a/+/acks", true},
		{"a/+/acks", "a/+/acks", true},
		{"a/#", "a/+/acks", false},
		{"a/x/acks/more", "a/+/acks", false},
		{"a/+/acks", "a/x/acks", false},
		{"a/x/#", "a/x/acks", false},
		{"", "#", false},
		{"$SYS/broker", "#", true}, // no rule is "#"; patterns start with watchpost
	}
	for _, tc := range cases {
		if got := within(tc.filter, tc.pattern); got != tc.want {
			t.Errorf("within(%q, %q) = %v, want %v", tc.filter, tc.pattern, got, tc.want)
		}
	}
}

func TestRules(t *testing.T) {
	a := postRules("a")
	cases := []struct {
		r     rules
		topic string
		write bool
		want  bool
	}{
		{a, "watchpost/v1/lists/#", false, true},
		{a, "watchpost/v1/lists/national/head", false, true},
		{a, "watchpost/v1/keys/+", false, true},
		{a, "watchpost/v1/posts/a/acks", false, true},
		{a, "watchpost/v1/posts/+/acks", false, false},
		{a, "watchpost/v1/posts/a/#", false, false},
		{a, "watchpost/v1/#", false, false},
		{a, "$SYS/#", false, false},
		{a, "watchpost/v1/posts/a/hits", true, true},
		{a, "watchpost/v1/posts/a/hits/x", true, false},
		{a, "watchpost/v1/posts/a/+", true, false},
		{a, "watchpost/v1/posts/a/acks", true, false},
		{a, "watchpost/v1/lists/x/delta", true, false},
		{hqRules, "watchpost/v1/posts/#", false, true},
		{hqRules, "watchpost/v1/posts/+/hits", false, true},
		{hqRules, "watchpost/v1/lists/#", false, false},
		{hqRules, "watchpost/v1/lists/x/delta", true, true},
		{hqRules, "watchpost/v1/keys/0123", true, true},
		{hqRules, "watchpost/v1/posts/b/acks", true, true},
		{hqRules, "watchpost/v1/posts/b/hits", true, false},
		{hqRules, "watchpost/v1/lists/#", true, false},
	}
	for _, tc := range cases {
		if got := tc.r.allows(tc.topic, tc.write); got != tc.want {
			t.Errorf("%v allows(%q, write=%v) = %v, want %v", tc.r.Write, tc.topic, tc.write, got, tc.want)
		}
	}
}

func TestPasswords(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789ab")
	d := sha512.New()
	d.Write([]byte("old"))
	d.Write(salt)
	enc := base64.StdEncoding
	six := "$6$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(d.Sum(nil))
	m, err := parsePasswords(strings.NewReader("# comment\n\nhq:" + h + "\nold:" + six + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !m["hq"]([]byte("s3cret")) || m["hq"]([]byte("s3cret!")) {
		t.Error("$7$ verification wrong")
	}
	if !m["old"]([]byte("old")) || m["old"]([]byte("new")) {
		t.Error("$6$ verification wrong")
	}
	for _, bad := range []string{"hq:plain", "nocolon", ":" + h, "hq:$7$x$y$z", "hq:" + h + "\nhq:" + h} {
		if _, err := parsePasswords(strings.NewReader(bad)); !errors.Is(err, ErrPasswordFile) {
			t.Errorf("%q: err %v, want ErrPasswordFile", bad, err)
		}
	}
}
