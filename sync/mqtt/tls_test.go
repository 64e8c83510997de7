package mqtt

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/transport/transporttest"
)

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil { // atomic, as a renewal writes it
		t.Fatal(err)
	}
	return p
}

// TestMTLSMochi: the broker requires a client certificate from the
// device CA; the post connects with TLSConfig, a post without a valid
// certificate does not, and a certificate renewed on disk is presented at
// the next reconnect without a restart (paho captures certificates at
// construction unless the tls.Config fetches them per handshake).
func TestMTLSMochi(t *testing.T) {
	serverCA, deviceCA, otherCA := brokertest.NewCA(t, "hq-server-ca"), brokertest.NewCA(t, "device-ca"), brokertest.NewCA(t, "rogue-ca")
	sc := serverCA.Issue(t, brokertest.Leaf{CN: "broker", Server: true, Serial: 10}).Pair
	clientCAs := deviceCA.Pool()
	var mu sync.Mutex
	var seen []int64 // serials of verified client certificates
	b := startMochi(t, &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{sc},
		ClientCAs: clientCAs, ClientAuth: tls.RequireAndVerifyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			mu.Lock()
			seen = append(seen, cs.PeerCertificates[0].SerialNumber.Int64())
			mu.Unlock()
			return nil
		},
	})
	lastSerial := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			return 0
		}
		return seen[len(seen)-1]
	}

	dir := t.TempDir()
	caFile := writeFile(t, dir, "ca.pem", serverCA.PEM)
	postCert := deviceCA.Issue(t, brokertest.Leaf{CN: "ber-03", Serial: 100})
	certFile, keyFile := writeFile(t, dir, "post.crt", postCert.CertPEM), writeFile(t, dir, "post.key", postCert.KeyPEM)
	cfg, err := TLSConfig(certFile, keyFile, caFile)
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions(b.URL(), "ber-03")
	o.TLS = cfg
	post := startClient(t, o)
	topic := transporttest.Topic(t)
	var in transporttest.Inbox
	if err := post.Subscribe(topic, in.Handle); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "mTLS connect", testkit.True(post.Connected))
	if err := post.Publish(t.Context(), topic, []byte("over tls"), false); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "round trip over mTLS", testkit.True(func() bool { return in.Has(topic, []byte("over tls")) }))
	if s := lastSerial(); s != 100 {
		t.Fatalf("broker saw serial %d, want 100", s)
	}

	// Renewal on disk, then a link failure: the reconnect presents it.
	renewed := deviceCA.Issue(t, brokertest.Leaf{CN: "ber-03", Serial: 101})
	writeFile(t, dir, "post.key", renewed.KeyPEM)
	writeFile(t, dir, "post.crt", renewed.CertPEM)
	post.cut()
	testkit.CheckFor(t, 5*time.Second, "reconnect with the renewed certificate", testkit.True(func() bool { return lastSerial() == 101 && post.Connected() }))

	// A certificate from another CA is refused; the client keeps trying
	// and reports why.
	rogueCert := otherCA.Issue(t, brokertest.Leaf{CN: "ber-04", Serial: 200})
	rogueCfg, err := TLSConfig(writeFile(t, dir, "r.crt", rogueCert.CertPEM), writeFile(t, dir, "r.key", rogueCert.KeyPEM), caFile)
	if err != nil {
		t.Fatal(err)
	}
	ro := testOptions(b.URL(), "ber-04")
	ro.TLS = rogueCfg
	failed := make(chan error, 16)
	ro.OnState = func(s State) {
		if s.Err != nil {
			select {
			case failed <- s.Err:
			default:
			}
		}
	}
	rogue := startClient(t, ro)
	select {
	case err := <-failed:
		t.Logf("rogue client refused: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no failure reported for a certificate from another CA")
	}
	if rogue.Connected() {
		t.Fatal("client with a rogue certificate connected")
	}

	// Files that do not exist or do not pair fail at start-up.
	if _, err := TLSConfig(certFile, filepath.Join(dir, "r.key"), caFile); err == nil {
		t.Error("TLSConfig accepted a key that does not match the certificate")
	}
	if _, err := TLSConfig(certFile, keyFile, filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("TLSConfig accepted a missing CA file")
	}
}
