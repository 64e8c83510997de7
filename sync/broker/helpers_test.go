package broker_test

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/protocol"
)

// wait bounds every wait for a broker event. Each wait ends as soon as
// the event arrives; the bound is wide because a loaded 2-core CI machine
// running the race detector has been seen to take over 5 s.
const wait = 30 * time.Second

// pki is a throwaway device CA with a server certificate for 127.0.0.1,
// client certificates by CN, a CRL revoking some of them, and a client
// certificate from a foreign CA.
type pki struct {
	dir                            string
	caFile, certFile, keyFile, crl string
	pool                           *x509.CertPool
	clients                        map[string]tls.Certificate
	foreign                        tls.Certificate
}

// newPKI issues client certificates for cns and revokes those in revoked
// (which are issued too).
func newPKI(t *testing.T, cns []string, revoked []string) *pki {
	t.Helper()
	dir := t.TempDir()
	ca := brokertest.NewCA(t, "watchpost test device CA")
	p := &pki{
		dir:      dir,
		caFile:   filepath.Join(dir, "ca.crt"),
		certFile: filepath.Join(dir, "server.crt"),
		keyFile:  filepath.Join(dir, "server.key"),
		crl:      filepath.Join(dir, "crl.pem"),
		pool:     ca.Pool(),
		clients:  map[string]tls.Certificate{},
	}
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(p.caFile, ca.PEM)
	srv := ca.Issue(t, brokertest.Leaf{CN: "broker", Server: true, DNSNames: []string{"localhost"}})
	write(p.certFile, srv.CertPEM)
	write(p.keyFile, srv.KeyPEM)
	for _, cn := range cns {
		p.clients[cn] = ca.Issue(t, brokertest.Leaf{CN: cn}).Pair
	}
	var entries []x509.RevocationListEntry
	for _, cn := range revoked {
		c := ca.Issue(t, brokertest.Leaf{CN: cn})
		p.clients[cn] = c.Pair
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.Serial, RevocationTime: time.Now().Add(-time.Minute)})
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                time.Now().Add(-time.Hour),
		NextUpdate:                time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	write(p.crl, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}))
	p.foreign = brokertest.NewCA(t, "foreign CA").Issue(t, brokertest.Leaf{CN: "a"}).Pair
	return p
}

// inbox records the messages a client receives, by payload.
type inbox struct {
	mu      sync.Mutex
	got     map[string]string // payload -> topic
	changed chan struct{}
}

func newInbox() *inbox {
	return &inbox{got: map[string]string{}, changed: make(chan struct{})}
}

func (in *inbox) add(_ paho.Client, m paho.Message) {
	in.mu.Lock()
	in.got[string(m.Payload())] = m.Topic()
	close(in.changed)
	in.changed = make(chan struct{})
	in.mu.Unlock()
}

// has reports whether payload was received.
func (in *inbox) has(payload string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	_, ok := in.got[payload]
	return ok
}

// waitFor waits up to d for payload.
func (in *inbox) waitFor(payload string, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		in.mu.Lock()
		_, ok := in.got[payload]
		ch := in.changed
		in.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// client is a raw paho MQTT 3.1.1 client: no auto-reconnect, every
// message into its inbox.
type client struct {
	paho.Client
	in   *inbox
	mu   sync.Mutex
	conn net.Conn
}

type dialOpts struct {
	url, clientID, user, pass string
	cert                      *tls.Certificate
	pool                      *x509.CertPool
	persistent                bool // CleanSession=false
	willTopic                 string
	willPayload               string
}

var errTimeout = errors.New("timed out")

func dial(t *testing.T, o dialOpts) (*client, error) {
	t.Helper()
	c := &client{in: newInbox()}
	po := paho.NewClientOptions().
		AddBroker(o.url).
		SetClientID(o.clientID).
		SetCleanSession(!o.persistent).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(false).
		SetProtocolVersion(4).
		SetKeepAlive(30 * time.Second).
		SetConnectTimeout(wait).
		SetDefaultPublishHandler(c.in.add)
	if o.user != "" {
		po.SetUsername(o.user).SetPassword(o.pass)
	}
	if o.willTopic != "" {
		if o.willPayload == "" {
			o.willPayload = "offline" // MQTT forbids an empty will payload
		}
		po.SetWill(o.willTopic, o.willPayload, 1, false)
	}
	tcfg := &tls.Config{RootCAs: o.pool, MinVersion: tls.VersionTLS12}
	if o.cert != nil {
		tcfg.Certificates = []tls.Certificate{*o.cert}
	}
	po.SetCustomOpenConnectionFn(func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
		d := net.Dialer{Timeout: wait}
		var conn net.Conn
		var err error
		if u.Scheme == "tls" {
			conn, err = tls.DialWithDialer(&d, "tcp", u.Host, tcfg)
		} else {
			conn, err = d.Dial("tcp", u.Host)
		}
		if err == nil {
			c.mu.Lock()
			c.conn = conn
			c.mu.Unlock()
		}
		return conn, err
	})
	c.Client = paho.NewClient(po)
	if err := waitToken(c.Connect()); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

// cut closes the network connection without DISCONNECT, so the broker
// publishes the will.
func (c *client) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
	}
}

func waitToken(tok paho.Token) error {
	if !tok.WaitTimeout(wait) {
		return errTimeout
	}
	return tok.Error()
}

// subscribe subscribes with QoS 1 and returns the SUBACK code.
func (c *client) subscribe(t *testing.T, filter string) byte {
	t.Helper()
	tok := c.Subscribe(filter, 1, nil)
	if err := waitToken(tok); err != nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	return tok.(*paho.SubscribeToken).Result()[filter]
}

// publish publishes with QoS 1 and waits (bounded) for the outcome: a
// PUBACK, or an error when the broker closes the connection.
func (c *client) publish(topic, payload string, retained bool) error {
	return waitToken(c.Publish(topic, 1, retained, payload))
}

var nonce atomic.Int64

// unique returns a payload no other case uses.
func unique(what string) string {
	return fmt.Sprintf("%s #%d", what, nonce.Add(1))
}

// persistenceAcross queues a QoS 1 message for an offline post (its
// session persistent) and retains a head on e, calls restart, and checks
// on the env restart returns that both survived: the session without a
// resubscribe, the retained head for a fresh client too.
func persistenceAcross(t *testing.T, e *env, restart func() *env) {
	t.Helper()
	post := e.mustConnect(t, "b", postClientID("b"), dialOpts{persistent: true})
	post.subscribe(t, protocol.AcksTopic("b"))
	post.subscribe(t, protocol.AllListsFilter)
	post.Disconnect(50)
	hq := e.mustConnect(t, "hq", "watchpost-hq", dialOpts{})
	ack, head := unique("queued ack"), unique("retained head")
	if err := hq.publish(protocol.AcksTopic("b"), ack, false); err != nil {
		t.Fatal(err)
	}
	if err := hq.publish(protocol.HeadTopic("national"), head, true); err != nil {
		t.Fatal(err)
	}
	hq.Disconnect(50)

	e = restart()
	post = e.mustConnect(t, "b", postClientID("b"), dialOpts{persistent: true}) // no resubscribe
	if !post.in.waitFor(ack, wait) {
		t.Fatal("ack queued for the offline post lost in the restart")
	}
	if !post.in.waitFor(head, wait) {
		t.Fatal("head queued for the offline post lost in the restart")
	}
	fresh := e.mustConnect(t, "a", postClientID("a"), dialOpts{})
	fresh.subscribe(t, protocol.AllListsFilter)
	if !fresh.in.waitFor(head, wait) {
		t.Fatal("retained head lost in the restart")
	}
}

// control publishes a fresh message from pub on topic and waits until
// reader has it: a message refused before it would have arrived by then.
func control(t *testing.T, pub *client, topic string, reader *client) {
	t.Helper()
	ctl := unique("control")
	if err := pub.publish(topic, ctl, false); err != nil {
		t.Fatalf("control publish on %s: %v", topic, err)
	}
	if !reader.in.waitFor(ctl, wait) {
		t.Fatalf("control message on %s not received within %v", topic, wait)
	}
}

// victimUntouched publishes an ack for post b as HQ and checks that victim,
// post b's session, receives it and is still connected after another
// client presented its client id; it returns the ack.
func victimUntouched(t *testing.T, e *env, victim *client) string {
	t.Helper()
	hq := e.mustConnect(t, "hq", "watchpost-hq", dialOpts{})
	ack := unique("ack for b")
	if err := hq.publish(protocol.AcksTopic("b"), ack, false); err != nil {
		t.Fatal(err)
	}
	if !victim.in.waitFor(ack, wait) {
		t.Fatal("victim lost its ack")
	}
	if !victim.IsConnectionOpen() {
		t.Fatal("victim was disconnected by a client presenting its client id")
	}
	return ack
}
