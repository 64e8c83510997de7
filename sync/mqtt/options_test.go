package mqtt

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	ok := Options{Brokers: []string{"tcp://127.0.0.1:1883"}, ClientID: "watchpost-post-x"}
	if _, err := New(ok); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for name, mod := range map[string]func(*Options){
		"no broker":       func(o *Options) { o.Brokers = nil },
		"bad scheme":      func(o *Options) { o.Brokers = []string{"ws://127.0.0.1:1"} },
		"no port":         func(o *Options) { o.Brokers = []string{"tcp://127.0.0.1"} },
		"tls without cfg": func(o *Options) { o.Brokers = []string{"tls://127.0.0.1:8883"} },
		"bad client id":   func(o *Options) { o.ClientID = "post/#" },
		"short keepalive": func(o *Options) { o.KeepAlive = time.Millisecond },
		"wild presence":   func(o *Options) { o.Presence = &Presence{Topic: "a/+", Offline: []byte("x")} },
		"empty offline":   func(o *Options) { o.Presence = &Presence{Topic: "a"} },
	} {
		o := ok
		mod(&o)
		if _, err := New(o); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: New = %v, want ErrInvalidOptions", name, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	var o Options
	o.setDefaults()
	if o.KeepAlive != DefaultKeepAlive || o.PingTimeout != DefaultPingTimeout || o.ConnectTimeout != DefaultConnectTimeout ||
		o.WriteTimeout != DefaultWriteTimeout {
		t.Errorf("defaults not applied: %+v", o)
	}
	// Dead-link detection stays inside the broker's 1.5 × keep-alive, so
	// the client notices no later than the broker publishes the will.
	if DefaultKeepAlive+DefaultPingTimeout > DefaultKeepAlive*3/2 {
		t.Errorf("keep-alive %v + ping timeout %v exceeds 1.5 × keep-alive", DefaultKeepAlive, DefaultPingTimeout)
	}
}

func TestPasswordNeverPrinted(t *testing.T) {
	o := Options{Brokers: []string{"tcp://127.0.0.1:1", "tcp://hq:url-s3cret@127.0.0.1:2"}, ClientID: "c", Username: "u", Password: "s3cret-pw"}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "options", o)
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("x", "options", o)
	fmt.Fprintf(&sb, "%v %+v %s", o, o, o)
	if strings.Contains(sb.String(), "s3cret") {
		t.Fatalf("password printed: %s", sb.String())
	}
	if !strings.Contains(sb.String(), "REDACTED") || !strings.Contains(sb.String(), "tcp://127.0.0.1:2") {
		t.Fatalf("no redaction marker or broker: %s", sb.String())
	}
}
