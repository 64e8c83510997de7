package mqtt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/transport/transporttest"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns PEM certificate and key for cn (client or server use).
func (ca *testCA) issue(t *testing.T, cn string, serial int64, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

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
// the next reconnect without a restart (RELIABILITY 1.16, 7.7).
func TestMTLSMochi(t *testing.T) {
	serverCA, deviceCA, otherCA := newCA(t, "hq-server-ca"), newCA(t, "device-ca"), newCA(t, "rogue-ca")
	srvCert, srvKey := serverCA.issue(t, "broker", 10, true)
	sc, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(deviceCA.cert)
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
	caFile := writeFile(t, dir, "ca.pem", serverCA.pem)
	cp, kp := deviceCA.issue(t, "ber-03", 100, false)
	certFile, keyFile := writeFile(t, dir, "post.crt", cp), writeFile(t, dir, "post.key", kp)
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
	transporttest.WaitFor(t, 5*time.Second, "mTLS connect", post.Connected)
	if err := post.Publish(t.Context(), topic, []byte("over tls"), false); err != nil {
		t.Fatal(err)
	}
	transporttest.WaitFor(t, 5*time.Second, "round trip over mTLS", func() bool { return in.Has(topic, []byte("over tls")) })
	if s := lastSerial(); s != 100 {
		t.Fatalf("broker saw serial %d, want 100", s)
	}

	// Renewal on disk, then a link failure: the reconnect presents it.
	cp2, kp2 := deviceCA.issue(t, "ber-03", 101, false)
	writeFile(t, dir, "post.key", kp2)
	writeFile(t, dir, "post.crt", cp2)
	post.cut()
	transporttest.WaitFor(t, 5*time.Second, "reconnect with the renewed certificate", func() bool { return lastSerial() == 101 && post.Connected() })

	// A certificate from another CA is refused; the client keeps trying
	// and reports why.
	rp, rk := otherCA.issue(t, "ber-04", 200, false)
	rogueCfg, err := TLSConfig(writeFile(t, dir, "r.crt", rp), writeFile(t, dir, "r.key", rk), caFile)
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
