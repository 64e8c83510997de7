package broker_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/brokertest"
)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return nil
}

// startMochi starts the embedded broker like an HQ deployment: plain
// loopback listener for HQ (password), mTLS listener for posts.
func startMochi(t *testing.T, p *pki, mod func(*broker.Options)) (*broker.Broker, *env) {
	t.Helper()
	cfg, err := broker.ServerTLSConfig(p.certFile, p.keyFile, p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	o := broker.Options{
		Addr:    "127.0.0.1:0",
		TLSAddr: "127.0.0.1:0",
		TLS:     cfg,
		Users:   map[string]string{hqUser: hqPass, "b": "b-secret"},
		Logger:  testLogger(t),
	}
	if mod != nil {
		mod(&o)
	}
	b, err := broker.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return b, &env{name: "mochi", plainURL: b.URL(), tlsURL: b.TLSURL(), pki: p}
}

func TestACL(t *testing.T) {
	_, e := startMochi(t, newPKI(t, certCNs, revokedCNs), nil)
	runACL(t, e)
}

func TestConnectRules(t *testing.T) {
	p := newPKI(t, certCNs, revokedCNs)
	_, e := startMochi(t, p, nil)
	foreign := p.foreign
	hqCert := p.clients[hqUser]
	cases := []struct {
		name string
		o    dialOpts
		ok   bool
	}{
		{"post certificate, own client id", dialOpts{url: e.tlsURL, cert: ptr(p.clients["a"]), clientID: "watchpost-post-a"}, true},
		{"post certificate, username ignored", dialOpts{url: e.tlsURL, cert: ptr(p.clients["a"]), clientID: "watchpost-post-a", user: hqUser, pass: "wrong"}, true},
		{"post certificate, another post's client id", dialOpts{url: e.tlsURL, cert: ptr(p.clients["a"]), clientID: "watchpost-post-b"}, false},
		{"post certificate, other client id", dialOpts{url: e.tlsURL, cert: ptr(p.clients["a"]), clientID: "a"}, false},
		{"post certificate, wildcard client id", dialOpts{url: e.tlsURL, cert: ptr(p.clients["a"]), clientID: "watchpost-post-+"}, false},
		{"HQ certificate", dialOpts{url: e.tlsURL, cert: &hqCert, clientID: "watchpost-hq-tls"}, true},
		{"HQ certificate, post client id", dialOpts{url: e.tlsURL, cert: &hqCert, clientID: "watchpost-post-a"}, false},
		{"certificate CN not an identity", dialOpts{url: e.tlsURL, cert: ptr(p.clients["bad+cn"]), clientID: "watchpost-post-bad"}, false},
		{"certificate from a foreign CA", dialOpts{url: e.tlsURL, cert: &foreign, clientID: "watchpost-post-a"}, false},
		{"no certificate on the TLS listener", dialOpts{url: e.tlsURL, clientID: "watchpost-post-a"}, false},
		{"HQ password", dialOpts{url: e.plainURL, user: hqUser, pass: hqPass, clientID: "watchpost-hq"}, true},
		{"HQ wrong password", dialOpts{url: e.plainURL, user: hqUser, pass: "nope", clientID: "watchpost-hq"}, false},
		{"HQ password, post client id", dialOpts{url: e.plainURL, user: hqUser, pass: hqPass, clientID: "watchpost-post-a"}, false},
		{"post password", dialOpts{url: e.plainURL, user: "b", pass: "b-secret", clientID: "watchpost-post-b"}, true},
		{"post password, HQ's client id", dialOpts{url: e.plainURL, user: "b", pass: "b-secret", clientID: "watchpost-hq"}, false},
		{"unknown user", dialOpts{url: e.plainURL, user: "c", pass: "x", clientID: "watchpost-post-c"}, false},
		{"anonymous, no demo mode", dialOpts{url: e.plainURL, clientID: "watchpost-post-a"}, false},
		{"will on own presence", dialOpts{url: e.tlsURL, cert: ptr(p.clients["a"]), clientID: "watchpost-post-a", willTopic: "watchpost/v1/posts/a/presence"}, true},
		{"will on another post's presence", dialOpts{url: e.tlsURL, cert: ptr(p.clients["a"]), clientID: "watchpost-post-a", willTopic: "watchpost/v1/posts/b/presence"}, false},
		{"will on a list head", dialOpts{url: e.tlsURL, cert: ptr(p.clients["a"]), clientID: "watchpost-post-a", willTopic: "watchpost/v1/lists/national/head"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.pool = p.pool
			c, err := dial(t, tc.o)
			if got := err == nil; got != tc.ok {
				t.Fatalf("connected=%v (err %v), want %v", got, err, tc.ok)
			}
			if c != nil {
				c.Disconnect(50)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// A post presenting another post's client id is refused and the victim's
// session is untouched.
func TestClientIDTakeoverRefused(t *testing.T) {
	p := newPKI(t, certCNs, revokedCNs)
	_, e := startMochi(t, p, nil)
	victim := e.mustConnect(t, "b", postClientID("b"), dialOpts{})
	victim.subscribe(t, "watchpost/v1/posts/b/acks")
	if _, err := e.connect(t, "a", postClientID("b"), dialOpts{}); err == nil {
		t.Fatal("post a connected with post b's client id")
	}
	victimUntouched(t, e, victim)
}

// A post's will (its offline presence) reaches HQ when the connection
// dies; a will it may not write is refused at CONNECT.
func TestWill(t *testing.T) {
	p := newPKI(t, certCNs, revokedCNs)
	_, e := startMochi(t, p, nil)
	hq := e.mustConnect(t, "hq", "watchpost-hq", dialOpts{})
	hq.subscribe(t, "watchpost/v1/posts/#")
	will := unique("offline")
	a := e.mustConnect(t, "a", postClientID("a"), dialOpts{willTopic: "watchpost/v1/posts/a/presence", willPayload: will})
	a.cut()
	if !hq.in.waitFor(will, wait) {
		t.Fatal("will not delivered")
	}
	if _, err := e.connect(t, "a", postClientID("a"), dialOpts{willTopic: "watchpost/v1/posts/b/presence", willPayload: "x"}); err == nil {
		t.Fatal("connected with a will on another post's topic")
	}
}

func TestAnonymousLoopbackDemo(t *testing.T) {
	b, err := broker.Start(context.Background(), broker.Options{Addr: "127.0.0.1:0", AllowAnonymousLoopback: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	hq, err := dial(t, dialOpts{url: b.URL(), clientID: "demo-hq"})
	if err != nil {
		t.Fatal(err)
	}
	hq.subscribe(t, "watchpost/v1/posts/#")
	a, err := dial(t, dialOpts{url: b.URL(), clientID: "watchpost-post-a"})
	if err != nil {
		t.Fatal(err)
	}
	a.subscribe(t, "watchpost/v1/lists/#")
	hit, other, delta := unique("hit"), unique("spoofed hit"), unique("delta")
	if err := a.publish("watchpost/v1/posts/a/hits", hit, false); err != nil {
		t.Fatal(err)
	}
	if !hq.in.waitFor(hit, wait) {
		t.Fatal("demo post's hit not delivered")
	}
	if err := hq.publish("watchpost/v1/lists/demo/delta", delta, false); err != nil {
		t.Fatal(err)
	}
	if !a.in.waitFor(delta, wait) {
		t.Fatal("demo HQ's delta not delivered")
	}
	_ = a.publish("watchpost/v1/posts/b/hits", other, false) // refused: closes a
	b2, err := dial(t, dialOpts{url: b.URL(), clientID: "watchpost-post-b"})
	if err != nil {
		t.Fatal(err)
	}
	control(t, b2, "watchpost/v1/posts/b/status", hq)
	if hq.in.has(other) {
		t.Fatal("demo post a published as post b")
	}
	// Anonymous access stays ACL-checked, and is loopback only: a broker
	// without the demo flag refuses it (TestConnectRules).
}

// Sessions and queued QoS 1 messages survive a restart with DataDir.
func TestPersistence(t *testing.T) {
	p := newPKI(t, certCNs, revokedCNs)
	dir := t.TempDir()
	start := func() (*broker.Broker, *env) {
		cfg, err := broker.ServerTLSConfig(p.certFile, p.keyFile, p.caFile)
		if err != nil {
			t.Fatal(err)
		}
		b, err := broker.Start(context.Background(), broker.Options{
			Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", TLS: cfg,
			Users: map[string]string{hqUser: hqPass}, DataDir: dir, Logger: testLogger(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		return b, &env{name: "mochi", plainURL: b.URL(), tlsURL: b.TLSURL(), pki: p}
	}
	b1, e := start()
	persistenceAcross(t, e, func() *env {
		if err := b1.Close(); err != nil {
			t.Fatal(err)
		}
		b2, e := start()
		t.Cleanup(func() { b2.Close() })
		return e
	})
}

// The embedded broker reads Mosquitto password files.
func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "passwd")
	if mp, err := exec.LookPath("mosquitto_passwd"); err == nil {
		if out, err := exec.Command(mp, "-b", "-c", path, hqUser, hqPass).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
	} else {
		t.Log("mosquitto_passwd not installed; using HashPassword")
		h, err := broker.HashPassword(hqPass)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(hqUser+":"+h+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, err := broker.Start(context.Background(), broker.Options{Addr: "127.0.0.1:0", PasswordFile: path, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := dial(t, dialOpts{url: b.URL(), clientID: "watchpost-hq", user: hqUser, pass: hqPass}); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if _, err := dial(t, dialOpts{url: b.URL(), clientID: "watchpost-hq", user: hqUser, pass: "wrong"}); err == nil {
		t.Fatal("wrong password accepted")
	}
}

func TestOptionsRefused(t *testing.T) {
	cases := map[string]broker.Options{
		"no listener":              {},
		"plain TCP on the network": {Addr: "0.0.0.0:0"},
		"TLS address without TLS":  {TLSAddr: "127.0.0.1:0"},
		"user not a post":          {Addr: "127.0.0.1:0", Users: map[string]string{"Admin": "x"}},
		"bad HQ username":          {Addr: "127.0.0.1:0", HQUsername: "hq/#"},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := broker.Start(context.Background(), o)
			if err == nil {
				b.Close()
				t.Fatal("started")
			}
			if !errors.Is(err, broker.ErrInvalidOptions) {
				t.Fatalf("err %v, want ErrInvalidOptions", err)
			}
		})
	}
}

// Start binds the listeners before returning; a taken port is an error.
func TestStartPortTaken(t *testing.T) {
	port := brokertest.FreePort(t)
	b1, err := broker.Start(context.Background(), broker.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), AllowAnonymousLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b1.Close()
	if b2, err := broker.Start(context.Background(), broker.Options{Addr: b1.Addr(), AllowAnonymousLoopback: true}); err == nil {
		b2.Close()
		t.Fatal("second broker on the same port started")
	}
}

// Cancelling Start's context closes the broker.
func TestContextCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b, err := broker.Start(ctx, broker.Options{Addr: "127.0.0.1:0", AllowAnonymousLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, dialOpts{url: b.URL(), clientID: "watchpost-post-a"}); err == nil {
		t.Fatal("connected after the context was cancelled")
	}
}
