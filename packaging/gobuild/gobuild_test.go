package gobuild

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":                  "1.2.3",
		"1.2.3":                   "1.2.3",
		"v1.2.3-rc1":              "1.2.3~rc1",
		"v1.2.3-4-gabcdef0":       "1.2.3+4.gabcdef0",
		"v1.2.3-4-gabcdef0-dirty": "1.2.3+4.gabcdef0.dirty",
		"v1.2.3-rc1-4-gabcdef0":   "1.2.3~rc1+4.gabcdef0",
		"v1.2.3-dirty":            "1.2.3+dirty",
		"abcdef0":                 "0.0.0~dev+abcdef0",
		"abcdef0-dirty":           "0.0.0~dev+abcdef0.dirty",
		"0.0.0~dev+abc+ciupgrade": "0.0.0~dev+abc+ciupgrade",
	} {
		got, err := NormalizeVersion(in)
		if err != nil || got != want {
			t.Errorf("NormalizeVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "latest", "1.2.3 beta", "1.2.3_1"} {
		if got, err := NormalizeVersion(bad); err == nil {
			t.Errorf("NormalizeVersion(%q) = %q, want an error", bad, got)
		}
	}
}

func TestMSIVersion(t *testing.T) {
	for v, want := range map[string]string{
		"1.2.3": "1.2.3", "1.2.3~rc1": "1.2.3", "0.0.0~dev+abc": "0.0.0", "300.2.70000": "255.2.65535", "x": "0.0.0",
	} {
		if got := (Stamp{Version: v}).MSIVersion(); got != want {
			t.Errorf("MSIVersion(%q) = %q, want %q", v, got, want)
		}
	}
}

// TestFlags pins what makes a build reproducible and stamped.
func TestFlags(t *testing.T) {
	s := Stamp{Version: "1.2.3", Commit: "abc", Time: time.Unix(1700000000, 0)}
	got := strings.Join(Flags(Programs[0], s, "out/watchpost"), " ")
	for _, want := range []string{"-trimpath", "-buildvcs=false", "-s -w -buildid=",
		"-X " + Module + "/daemon/cli.Version=1.2.3", "-X " + Module + "/daemon/cli.Commit=abc",
		"-X " + Module + "/daemon/cli.Date=2023-11-14T22:13:20Z", "./cmd/watchpost"} {
		if !strings.Contains(got, want) {
			t.Errorf("flags %q lack %q", got, want)
		}
	}
}

func TestResolveSourceDateEpoch(t *testing.T) {
	s, err := Resolve(t.Context(), t.TempDir(), "v2.0.0", func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "2.0.0" || s.Date() != "2023-11-14T22:13:20Z" || s.Commit != "unknown" {
		t.Errorf("Resolve = %+v", s)
	}
}
