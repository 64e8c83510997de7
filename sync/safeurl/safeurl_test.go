package safeurl

import "testing"

func TestString(t *testing.T) {
	for raw, want := range map[string]string{
		"tcp://127.0.0.1:1883":                     "tcp://127.0.0.1:1883",
		"tcp://watchpost-hq:s3cret@127.0.0.1:1883": "tcp://127.0.0.1:1883",
		"tls://token@mqtt.hq.example:8883":         "tls://mqtt.hq.example:8883",
		"https://hq.example/files/a?token=s3cr":    "https://hq.example/files/a?…",
		"https://hq.example/x?":                    "https://hq.example/x?…",
		"tcp://hq:s3cret@[::1:1883":                "(invalid URL)",
	} {
		if got := String(raw); got != want {
			t.Errorf("String(%q) = %q, want %q", raw, got, want)
		}
	}
}
