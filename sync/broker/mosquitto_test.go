package broker_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/sync/broker"
	"github.com/watchpost/watchpost/sync/brokertest"
)

// The shipped Mosquitto files, checked against a real Mosquitto: the acl
// file as shipped, and mosquitto.conf with only its ports and paths
// rewritten (listeners on free loopback ports, the test PKI, a temp
// persistence dir, logs to stderr, user = the current user). Every other
// line (persistence, autosave, queue limits, message size, TLS and
// identity settings, set_tcp_nodelay) is used verbatim.

var shipped = filepath.Join("..", "..", "configs", "mosquitto")

type mosq struct {
	*brokertest.Mosquitto
	env *env
}

func startShippedMosquitto(t *testing.T, p *pki) *mosq {
	t.Helper()
	if brokertest.MosquittoPath() == "" {
		t.Skip("mosquitto not found on PATH or at /usr/sbin/mosquitto; install it (apt-get install -y mosquitto) to check configs/mosquitto")
	}
	raw, err := os.ReadFile(filepath.Join(shipped, "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	acl, err := filepath.Abs(filepath.Join(shipped, "acl"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	writePasswd(t, passwd)
	hqPort, postPort := brokertest.FreePort(t), brokertest.FreePort(t)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	conf, err := rewriteConf(string(raw), map[string]string{
		"listener 1883":        fmt.Sprintf("listener %d 127.0.0.1", hqPort),
		"listener 8883":        fmt.Sprintf("listener %d 127.0.0.1", postPort),
		"cafile":               p.caFile,
		"certfile":             p.certFile,
		"keyfile":              p.keyFile,
		"crlfile":              p.crl,
		"password_file":        passwd,
		"acl_file":             acl,
		"persistence_location": dir + string(filepath.Separator),
		"log_dest":             "stderr",
		"user":                 me.Username,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := brokertest.StartMosquittoConfig(t, conf, hqPort)
	return &mosq{Mosquitto: m, env: &env{
		name:     "mosquitto",
		plainURL: fmt.Sprintf("tcp://127.0.0.1:%d", hqPort),
		tlsURL:   fmt.Sprintf("tls://127.0.0.1:%d", postPort),
		pki:      p,
	}}
}

// writePasswd creates the HQ account's password file, with
// mosquitto_passwd when installed.
func writePasswd(t *testing.T, path string) {
	t.Helper()
	if mp, err := exec.LookPath("mosquitto_passwd"); err == nil {
		if out, err := exec.Command(mp, "-b", "-c", path, hqUser, hqPass).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
		return
	}
	h, err := broker.HashPassword(hqPass)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(hqUser+":"+h+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rewriteConf replaces the value of each directive named in with (keys
// are a directive, or "listener <port>"), keeps log_type error and
// warning only, and fails if a directive to rewrite is missing, so a
// change to the shipped file cannot silently escape the test.
func rewriteConf(conf string, with map[string]string) (string, error) {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(conf, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			out = append(out, line)
			continue
		}
		key := f[0]
		if key == "listener" && len(f) > 1 {
			key += " " + f[1]
		}
		switch {
		case key == "log_type":
			if len(f) > 1 && (f[1] == "error" || f[1] == "warning") {
				out = append(out, line)
			}
		case with[key] != "":
			if seen[key] {
				continue // e.g. a second log_dest
			}
			seen[key] = true
			if strings.HasPrefix(key, "listener ") {
				out = append(out, with[key])
			} else {
				out = append(out, key+" "+with[key])
			}
		case strings.HasPrefix(key, "listener "):
			return "", fmt.Errorf("unexpected %q in the shipped mosquitto.conf", line)
		default:
			out = append(out, line)
		}
	}
	for k := range with {
		if !seen[k] {
			return "", fmt.Errorf("shipped mosquitto.conf has no %q line to rewrite", k)
		}
	}
	return strings.Join(out, "\n"), nil
}

// The settings the tests and the measurements rely on are in the shipped
// file as documented.
func TestShippedMosquittoConf(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(shipped, "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	for _, want := range []string{
		"allow_anonymous false",
		"persistence true",
		"autosave_interval 60",
		"persistent_client_expiration 30d",
		"max_queued_messages 10000",
		"message_size_limit 33554432",
		"set_tcp_nodelay true",
		"check_retain_source true",
		"listener 1883 127.0.0.1",
		"listener 8883",
		"require_certificate true",
		"use_identity_as_username true",
		"use_username_as_clientid true",
		"tls_version tlsv1.2",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("shipped mosquitto.conf lacks %q", want)
		}
	}
}

func TestMosquittoACL(t *testing.T) {
	m := startShippedMosquitto(t, newPKI(t, certCNs, revokedCNs))
	runACL(t, m.env)
}

// On the posts' listener Mosquitto replaces the client id with the
// certificate CN (use_username_as_clientid), so a post presenting another
// post's client id cannot take over its session; the
// revoked, foreign and missing certificates and wrong passwords are
// refused, and a will on another post's topic never reaches HQ.
func TestMosquittoIdentity(t *testing.T) {
	p := newPKI(t, certCNs, revokedCNs)
	e := startShippedMosquitto(t, p).env

	t.Run("client id takeover", func(t *testing.T) {
		victim := e.mustConnect(t, "b", postClientID("b"), dialOpts{})
		victim.subscribe(t, "watchpost/v1/posts/b/acks")
		intruder := e.mustConnect(t, "a", postClientID("b"), dialOpts{persistent: true})
		intruder.subscribe(t, "watchpost/v1/posts/b/acks") // denied: a reads only its own acks
		ack := victimUntouched(t, e, victim)
		if intruder.in.has(ack) {
			t.Fatal("intruder received the victim's ack")
		}
	})

	refused := []struct {
		name string
		o    dialOpts
	}{
		{"revoked certificate", dialOpts{url: e.tlsURL, cert: ptr(p.clients["r"]), clientID: "watchpost-post-r"}},
		{"certificate from a foreign CA", dialOpts{url: e.tlsURL, cert: &p.foreign, clientID: "watchpost-post-a"}},
		{"no certificate", dialOpts{url: e.tlsURL, clientID: "watchpost-post-a"}},
		{"HQ wrong password", dialOpts{url: e.plainURL, user: hqUser, pass: "nope", clientID: "watchpost-hq"}},
		{"anonymous on loopback", dialOpts{url: e.plainURL, clientID: "watchpost-hq"}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.pool = p.pool
			if c, err := dial(t, tc.o); err == nil {
				c.Disconnect(50)
				t.Fatal("connected")
			}
		})
	}

	t.Run("will", func(t *testing.T) {
		hq := e.mustConnect(t, "hq", "watchpost-hq-observer", dialOpts{})
		hq.subscribe(t, "watchpost/v1/posts/#")
		good, bad := unique("a offline"), unique("b offline, claimed by a")
		a := e.mustConnect(t, "a", postClientID("a"), dialOpts{willTopic: "watchpost/v1/posts/a/presence", willPayload: good})
		a.cut()
		if !hq.in.waitFor(good, wait) {
			t.Fatal("post a's will not delivered")
		}
		a2, err := e.connect(t, "a", postClientID("a"), dialOpts{willTopic: "watchpost/v1/posts/b/presence", willPayload: bad})
		if err != nil {
			t.Logf("refused at CONNECT: %v", err)
			return
		}
		a2.cut()
		z := e.mustConnect(t, "z", postClientID("z"), dialOpts{})
		control(t, z, ctlHQTopic, hq)
		if hq.in.has(bad) {
			t.Fatal("a will on another post's presence was delivered")
		}
	})
}

// A QoS 1 message queued for an offline post, and a retained head,
// survive a restart of Mosquitto with the shipped persistence settings.
func TestMosquittoPersistence(t *testing.T) {
	m := startShippedMosquitto(t, newPKI(t, certCNs, revokedCNs))
	persistenceAcross(t, m.env, func() *env {
		m.Shutdown(t) // SIGTERM: Mosquitto writes mosquitto.db
		m.Start(t)
		return m.env
	})
}
