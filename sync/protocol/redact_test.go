package protocol

import "testing"

func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"tcp://127.0.0.1:1883":                      "tcp://127.0.0.1:1883",
		"tcp://watchpost-hq:s3cret@127.0.0.1:1883":  "tcp://127.0.0.1:1883",
		"tls://token@mqtt.hq.example:8883":          "tls://mqtt.hq.example:8883",
		"https://hq.example/snapshots/a?token=s3cr": "https://hq.example/snapshots/a?…",
		"https://hq.example/x?":                     "https://hq.example/x?…",
		"tcp://hq:s3cret@[::1:1883":                 "(invalid URL)",
	} {
		if got := RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}
