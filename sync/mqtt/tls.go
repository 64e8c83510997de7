package mqtt

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/watchpost/watchpost/sync/tlsfiles"
)

// TLSConfig returns a client TLS configuration for mTLS with the broker
// (mutual TLS): the server must present a certificate issued by the CA
// in caFile, and the post presents the certificate and key in certFile
// and keyFile (PEM). TLS 1.2 is the minimum.
//
// The files are read now, so a missing or mismatched file is an error at
// start-up, and again on every handshake (GetClientCertificate), so a
// certificate renewed on disk (written atomically: temp file, fsync,
// rename) is used at the next reconnect without a restart, because the
// certificate is read at each handshake. If the files cannot be read or do not pair at a handshake,
// the last good certificate is presented. The CA is read once.
func TLSConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	roots, err := tlsfiles.CertPool(caFile)
	if errors.Is(err, tlsfiles.ErrNoCertificate) {
		return nil, fmt.Errorf("tls config: %s holds no PEM certificate", caFile)
	}
	if err != nil {
		return nil, fmt.Errorf("tls config: read CA: %w", err)
	}
	pair, err := tlsfiles.LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls config: load client certificate: %w", err)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return pair.Certificate(), nil
		},
	}, nil
}
