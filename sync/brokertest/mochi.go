package brokertest

import (
	"log/slog"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// StartMochi runs an in-process mochi broker with the AllowAll hook on a
// random loopback port, closes it when the test ends, and returns its URL
// (tcp://127.0.0.1:port).
func StartMochi(t testing.TB) string {
	t.Helper()
	_, url := StartMochiWith(t, mochi.Options{})
	return url
}

// StartMochiWith is StartMochi with options (e.g. InlineClient, to
// subscribe on the server); it returns the server too. A nil Logger
// discards the broker's log.
func StartMochiWith(t testing.TB, o mochi.Options) (*mochi.Server, string) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	srv := mochi.New(&o)
	if err := srv.AddHook(new(AllowAll), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "t", Address: "127.0.0.1:0"})
	if err := srv.AddListener(l); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, "tcp://" + l.Address()
}
