package broker

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/watchpost/watchpost/sync/tlsfiles"
)

// ServerTLSConfig returns the TLS configuration of the posts' listener
// for mTLS: the broker presents certFile/keyFile (PEM), and every client
// must present a certificate issued by the CA in clientCAFile, whose CN
// becomes its identity (Mosquitto: require_certificate and
// use_identity_as_username). Use a CA that issues only Watchpost device
// certificates: any certificate it signs is accepted.
// TLS 1.2 is the minimum.
//
// The server certificate is read now and again at every handshake, so a
// renewed certificate (written atomically) is used without a restart; if
// the files cannot be read or do not pair, the last good one is used.
// The CA is read once. Certificate revocation lists are not checked:
// revoking a post needs a new device CA, or Mosquitto with crlfile.
func ServerTLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	pool, err := tlsfiles.CertPool(clientCAFile)
	if errors.Is(err, tlsfiles.ErrNoCertificate) {
		return nil, fmt.Errorf("broker tls: %s holds no PEM certificate", clientCAFile)
	}
	if err != nil {
		return nil, fmt.Errorf("broker tls: read client CA: %w", err)
	}
	pair, err := tlsfiles.LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("broker tls: load server certificate: %w", err)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  pool,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return pair.Certificate(), nil
		},
	}, nil
}
