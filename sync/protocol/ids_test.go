package protocol

import (
	"strings"
	"testing"
)

func TestPostClientID(t *testing.T) {
	id, err := PostClientID("ber-03")
	if err != nil || id != "watchpost-post-ber-03" {
		t.Fatalf("PostClientID = %q, %v", id, err)
	}
	for _, bad := range []string{"", "Ber", "a/b", "a+b", "a#", "-a", "a-", "a b", "a$", strings.Repeat("a", MaxPostIDLen+1)} {
		if _, err := PostClientID(bad); err == nil {
			t.Errorf("PostClientID(%q) accepted", bad)
		}
	}
	if _, err := PostClientID(strings.Repeat("a", MaxPostIDLen)); err != nil {
		t.Errorf("longest post id: %v", err)
	}
	if err := ValidateClientID(strings.Repeat("a", MaxClientIDLen)); err != nil {
		t.Errorf("longest client id: %v", err)
	}
	if err := ValidateClientID("post/#"); err == nil {
		t.Error(`ValidateClientID("post/#") accepted`)
	}
}
