// Package mqtttest makes sync/mqtt clients for tests against a broker on
// loopback: short timeouts, closed when the test ends, started and waited
// for. Only tests import it (sync/mqtt's own tests cannot: they are inside
// the package it wraps).
package mqtttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/transport"
)

// Options returns client options with timeouts for a broker on loopback.
func Options(url, clientID string) mqtt.Options {
	return mqtt.Options{
		Brokers:              []string{url},
		ClientID:             clientID,
		KeepAlive:            5 * time.Second,
		PingTimeout:          2 * time.Second,
		ConnectTimeout:       2 * time.Second,
		WriteTimeout:         5 * time.Second,
		ConnectRetryInterval: 50 * time.Millisecond,
		MaxReconnectInterval: 200 * time.Millisecond,
	}
}

// New returns a client made from o with the subscriptions subs, not
// started; it is closed when the test ends.
func New(t testing.TB, o mqtt.Options, subs map[string]transport.Handler) *mqtt.Client {
	t.Helper()
	c, err := mqtt.New(o)
	if err != nil {
		t.Fatal(err)
	}
	for f, h := range subs {
		if err := c.Subscribe(f, h); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { Close(c) })
	return c
}

// Start starts c and waits until it is connected.
func Start(t testing.TB, c *mqtt.Client) {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, "client connected", func() error {
		if !c.Connected() {
			return errors.New("not connected")
		}
		return nil
	})
}

// Connect is New and Start.
func Connect(t testing.TB, o mqtt.Options, subs map[string]transport.Handler) *mqtt.Client {
	t.Helper()
	c := New(t, o, subs)
	Start(t, c)
	return c
}

// Close closes c, giving it 5 s.
func Close(c *mqtt.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
