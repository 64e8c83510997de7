// Package tlsfiles reads the PEM files of mutual TLS for the MQTT client
// and the embedded broker: a CA pool, and a certificate and key pair that
// is read again at every handshake, so a pair renewed on disk is used
// without a restart.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"sync"
)

// ErrNoCertificate is returned by CertPool for a file that holds no PEM
// certificate.
var ErrNoCertificate = errors.New("no PEM certificate")

// CertPool returns a pool of the PEM certificates in file. A read error
// is returned as is; a file without a certificate gives ErrNoCertificate.
func CertPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, ErrNoCertificate
	}
	return pool, nil
}

// KeyPair is a certificate and its key in PEM files (written atomically
// when renewed: temp file, fsync, rename).
type KeyPair struct {
	certFile, keyFile string

	mu   sync.Mutex
	last *tls.Certificate // the last pair that loaded
}

// LoadKeyPair reads the pair now, so a missing or mismatched file is an
// error at start-up.
func LoadKeyPair(certFile, keyFile string) (*KeyPair, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &KeyPair{certFile: certFile, keyFile: keyFile, last: &cert}, nil
}

// Certificate reads the files again and returns the pair; if they cannot
// be read or do not pair, it returns the last good one. It is meant for
// tls.Config's GetCertificate and GetClientCertificate.
func (k *KeyPair) Certificate() *tls.Certificate {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, err := tls.LoadX509KeyPair(k.certFile, k.keyFile); err == nil {
		k.last = &c
	}
	return k.last
}
