package broker_test

import (
	"fmt"
	"strings"
	"testing"
)

// The ACL table runs against both brokers configured alike: HQ with a
// password on the plain loopback listener, posts with client
// certificates (CN = post id) on the TLS listener.

const (
	hqUser = "watchpost-hq"
	hqPass = "hq-secret"
)

// certCNs get certificates: posts a and b are tested, y observes lists
// and keys, z publishes control messages; "bad+cn" is not a valid
// identity. revokedCNs are in the CRL (Mosquitto checks it).
var (
	certCNs    = []string{"a", "b", "y", "z", hqUser, "bad+cn"}
	revokedCNs = []string{"r"}
)

type env struct {
	name             string // "mochi" or "mosquitto"
	plainURL, tlsURL string
	pki              *pki
}

// connect opens a client for who ("hq" or a post id) with clientID; HQ
// uses the password, posts their certificate.
func (e *env) connect(t *testing.T, who, clientID string, o dialOpts) (*client, error) {
	t.Helper()
	o.clientID = clientID
	o.pool = e.pki.pool
	if who == "hq" {
		o.url, o.user, o.pass = e.plainURL, hqUser, hqPass
	} else {
		cert, ok := e.pki.clients[who]
		if !ok {
			t.Fatalf("no certificate for %q", who)
		}
		o.url, o.cert = e.tlsURL, &cert
	}
	return dial(t, o)
}

func (e *env) mustConnect(t *testing.T, who, clientID string, o dialOpts) *client {
	t.Helper()
	c, err := e.connect(t, who, clientID, o)
	if err != nil {
		t.Fatalf("%s: connect %s as %s: %v", e.name, who, clientID, err)
	}
	return c
}

func postClientID(p string) string { return "watchpost-post-" + p }

// observers hold the long-lived clients of an ACL run: hqObs reads
// posts/#, yObs (post y) reads lists/# and keys/#; hqCtl and zCtl publish
// the control messages each observer gets after a refused case.
type observers struct {
	hqObs, yObs, hqCtl, zCtl *client
}

const (
	ctlHQTopic   = "watchpost/v1/posts/z/status"  // z writes, HQ reads
	ctlPostTopic = "watchpost/v1/lists/ctl/delta" // HQ writes, posts read
)

func (e *env) observers(t *testing.T) *observers {
	o := &observers{
		hqObs: e.mustConnect(t, "hq", "watchpost-hq-observer", dialOpts{}),
		yObs:  e.mustConnect(t, "y", postClientID("y"), dialOpts{}),
		hqCtl: e.mustConnect(t, "hq", "watchpost-hq-control", dialOpts{}),
		zCtl:  e.mustConnect(t, "z", postClientID("z"), dialOpts{}),
	}
	o.hqObs.subscribe(t, "watchpost/v1/posts/#")
	o.yObs.subscribe(t, "watchpost/v1/lists/#")
	o.yObs.subscribe(t, "watchpost/v1/keys/#")
	return o
}

// control publishes a fresh control message that reader receives after
// everything published before it, and waits until it has.
func (o *observers) control(t *testing.T, reader *client, forHQ bool) {
	t.Helper()
	pub, topic := o.hqCtl, ctlPostTopic
	if forHQ {
		pub, topic = o.zCtl, ctlHQTopic
	}
	control(t, pub, topic, reader)
}

// Write cases: who publishes topic; allowed or not.
var writeCases = []struct {
	who, topic string
	allowed    bool
}{
	{"hq", "watchpost/v1/lists/national/delta", true},
	{"hq", "watchpost/v1/lists/national/head", true},
	{"hq", "watchpost/v1/keys/0123456789abcdef", true},
	{"hq", "watchpost/v1/posts/a/acks", true},
	{"hq", "watchpost/v1/posts/a/hits", false},
	{"hq", "watchpost/v1/posts/a/status", false},
	{"hq", "watchpost/v1/posts/a/presence", false},
	{"hq", "watchpost/v1/posts/watchpost-hq/hits", false},
	{"a", "watchpost/v1/posts/a/hits", true},
	{"a", "watchpost/v1/posts/a/status", true},
	{"a", "watchpost/v1/posts/a/presence", true},
	{"a", "watchpost/v1/posts/a/acks", false},
	{"a", "watchpost/v1/posts/b/hits", false},
	{"a", "watchpost/v1/posts/b/status", false},
	{"a", "watchpost/v1/posts/b/presence", false},
	{"a", "watchpost/v1/posts/b/acks", false},
	{"a", "watchpost/v1/lists/national/delta", false},
	{"a", "watchpost/v1/lists/national/head", false},
	{"a", "watchpost/v1/keys/0123456789abcdef", false},
	{"a", "watchpost/v1/other", false},
}

// Read cases: reader subscribes to filter, pub publishes topic.
// mosquitto overrides allowed where Mosquitto's patterns grant more (they
// apply to the HQ account too).
type readCase struct {
	reader, filter, pub, topic string
	allowed                    bool
	mosquitto                  *bool
}

func yes() *bool { b := true; return &b }

var readCases = []readCase{
	{"a", "watchpost/v1/lists/#", "hq", "watchpost/v1/lists/national/delta", true, nil},
	{"a", "watchpost/v1/lists/national/head", "hq", "watchpost/v1/lists/national/head", true, nil},
	{"a", "watchpost/v1/keys/#", "hq", "watchpost/v1/keys/0123456789abcdef", true, nil},
	{"a", "watchpost/v1/posts/a/acks", "hq", "watchpost/v1/posts/a/acks", true, nil},
	{"a", "watchpost/v1/posts/b/acks", "hq", "watchpost/v1/posts/b/acks", false, nil},
	{"a", "watchpost/v1/posts/+/acks", "hq", "watchpost/v1/posts/b/acks", false, nil},
	{"a", "watchpost/v1/posts/#", "b", "watchpost/v1/posts/b/hits", false, nil},
	{"a", "#", "b", "watchpost/v1/posts/b/status", false, nil},
	{"a", "watchpost/v1/posts/b/hits", "b", "watchpost/v1/posts/b/hits", false, nil},
	{"hq", "watchpost/v1/posts/#", "a", "watchpost/v1/posts/a/hits", true, nil},
	{"hq", "watchpost/v1/posts/+/status", "a", "watchpost/v1/posts/a/status", true, nil},
	{"hq", "watchpost/v1/posts/a/presence", "a", "watchpost/v1/posts/a/presence", true, nil},
	{"hq", "watchpost/v1/lists/#", "hq", "watchpost/v1/lists/national/delta", false, yes()},
}

// runACL checks every write and read case.
func runACL(t *testing.T, e *env) {
	obs := e.observers(t)
	t.Run("write", func(t *testing.T) {
		for _, tc := range writeCases {
			name := tc.who + " " + tc.topic
			t.Run(name, func(t *testing.T) {
				id := "watchpost-hq"
				if tc.who != "hq" {
					id = postClientID(tc.who)
				}
				w := e.mustConnect(t, tc.who, id, dialOpts{})
				reader, forHQ := obs.yObs, false
				if strings.HasPrefix(tc.topic, "watchpost/v1/posts/") {
					reader, forHQ = obs.hqObs, true
				}
				msg := unique(name)
				err := w.publish(tc.topic, msg, false)
				if tc.allowed {
					if err != nil {
						t.Fatalf("publish: %v", err)
					}
					if !reader.in.waitFor(msg, wait) {
						t.Fatalf("allowed publish not delivered within %v", wait)
					}
					return
				}
				// Refused: Mosquitto acknowledges and drops; mochi closes
				// a 3.1.1 connection. Either way it must reach nobody.
				t.Logf("%s: refused publish outcome: %v", e.name, err)
				obs.control(t, reader, forHQ)
				if reader.in.has(msg) {
					t.Fatalf("refused publish was delivered")
				}
			})
		}
	})
	t.Run("read", func(t *testing.T) {
		for i, tc := range readCases {
			want := tc.allowed
			if e.name == "mosquitto" && tc.mosquitto != nil {
				want = *tc.mosquitto
			}
			name := tc.reader + " " + tc.filter + " <- " + tc.topic
			t.Run(name, func(t *testing.T) {
				// A reader id of its own per case: a session closed at the
				// end of one case must not race a new session of the same
				// id (mochi clears subscriptions by client id).
				rid := fmt.Sprintf("watchpost-hq-reader-%d", i)
				forHQ := tc.reader == "hq"
				if !forHQ {
					rid = postClientID(tc.reader)
				}
				r := e.mustConnect(t, tc.reader, rid, dialOpts{})
				code := r.subscribe(t, tc.filter)
				t.Logf("%s: SUBACK %#x", e.name, code)
				if e.name == "mochi" && (code == 0x80) == want {
					t.Errorf("mochi SUBACK %#x for an allowed=%v subscription", code, want)
				}
				if forHQ {
					r.subscribe(t, ctlHQTopic)
				} else {
					r.subscribe(t, ctlPostTopic)
				}
				p := obs.hqCtl
				if tc.pub != "hq" {
					p = e.mustConnect(t, tc.pub, postClientID(tc.pub), dialOpts{})
				}
				msg := unique(name)
				if err := p.publish(tc.topic, msg, false); err != nil {
					t.Fatalf("publish %s: %v", tc.topic, err)
				}
				if want {
					if !r.in.waitFor(msg, wait) {
						t.Fatalf("allowed message not delivered within %v", wait)
					}
					return
				}
				obs.control(t, r, forHQ)
				if r.in.has(msg) {
					t.Fatalf("refused message was delivered")
				}
			})
		}
	})
}
