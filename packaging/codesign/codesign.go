// Package codesign signs Watchpost's Windows files (the .exe and the .msi)
// with Authenticode through osslsigncode, and verifies them: with the
// release certificate named by environment variables, or else with a test
// CA and code-signing certificate it makes for the build.
package codesign

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Environment variables naming the release signing material. Either
// EnvPKCS12 (with EnvPasswordFile when the container is encrypted) or
// EnvCert and EnvKey; EnvTimestampURL is an RFC 3161 time-stamp server,
// so that signatures outlive the certificate.
const (
	EnvPKCS12       = "WATCHPOST_SIGN_PKCS12"
	EnvPasswordFile = "WATCHPOST_SIGN_PASSWORD_FILE"
	EnvCert         = "WATCHPOST_SIGN_CERT"
	EnvKey          = "WATCHPOST_SIGN_KEY"
	EnvTimestampURL = "WATCHPOST_SIGN_TIMESTAMP_URL"
)

// Description and URL go into every signature (shown by Windows' UAC and
// file properties).
const (
	Description = "Watchpost"
	URL         = "https://github.com/watchpost/watchpost"
)

// Signer is the material osslsigncode signs with.
type Signer struct {
	PKCS12, PasswordFile string // a PKCS#12 container, or
	Cert, Key            string // a PEM certificate (chain) and key
	TimestampURL         string
	// CAFile is the root to verify against: the test CA, or empty for
	// the system's roots.
	CAFile string
	// Test reports a test certificate made by NewTestSigner.
	Test bool
}

// FromEnv returns the release signer named by the environment, or
// ok=false when none is named.
func FromEnv(getenv func(string) string) (s Signer, ok bool, err error) {
	s = Signer{
		PKCS12: getenv(EnvPKCS12), PasswordFile: getenv(EnvPasswordFile),
		Cert: getenv(EnvCert), Key: getenv(EnvKey), TimestampURL: getenv(EnvTimestampURL),
	}
	switch {
	case s.PKCS12 != "" && (s.Cert != "" || s.Key != ""):
		return s, false, fmt.Errorf("set %s or %s and %s, not both", EnvPKCS12, EnvCert, EnvKey)
	case s.PKCS12 != "":
		return s, true, nil
	case s.Cert != "" && s.Key != "":
		return s, true, nil
	case s.Cert != "" || s.Key != "":
		return s, false, fmt.Errorf("%s and %s go together", EnvCert, EnvKey)
	}
	return s, false, nil
}

// TestCAName and TestCertName are the subjects of the test certificates.
const (
	TestCAName   = "Watchpost TEST code-signing CA (not for release)"
	TestCertName = "Watchpost TEST code signing (not for release)"
)

// NewTestSigner makes a test CA and a code-signing certificate issued by
// it (RSA 3072, extended key usage codeSigning) in dir: ca.crt,
// codesign.crt (leaf then CA) and codesign.key. Only CA verifies the
// signatures; Windows will not trust them.
func NewTestSigner(dir string, now time.Time) (Signer, error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return Signer{}, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return Signer{}, err
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		return n
	}
	notBefore := now.Add(-time.Hour)
	notAfter := now.Add(30 * 24 * time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: TestCAName, Organization: []string{"Watchpost"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return Signer{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return Signer{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: TestCertName, Organization: []string{"Watchpost"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return Signer{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Signer{}, err
	}
	pemOf := func(typ string, der ...[]byte) []byte {
		var b bytes.Buffer
		for _, d := range der {
			_ = pem.Encode(&b, &pem.Block{Type: typ, Bytes: d})
		}
		return b.Bytes()
	}
	s := Signer{
		CAFile: filepath.Join(dir, "ca.crt"),
		Cert:   filepath.Join(dir, "codesign.crt"),
		Key:    filepath.Join(dir, "codesign.key"),
		Test:   true,
	}
	if err := os.WriteFile(s.CAFile, pemOf("CERTIFICATE", caDER), 0o644); err != nil {
		return Signer{}, err
	}
	if err := os.WriteFile(s.Cert, pemOf("CERTIFICATE", leafDER, caDER), 0o644); err != nil {
		return Signer{}, err
	}
	if err := os.WriteFile(s.Key, pemOf("PRIVATE KEY", keyDER), 0o600); err != nil {
		return Signer{}, err
	}
	return s, nil
}

// Sign signs in into out (SHA-256, with the description and URL, and a
// time-stamp when the signer names a server).
func (s Signer) Sign(ctx context.Context, in, out string) error {
	args := []string{"sign", "-h", "sha256", "-n", Description, "-i", URL}
	switch {
	case s.PKCS12 != "":
		args = append(args, "-pkcs12", s.PKCS12)
		if s.PasswordFile != "" {
			args = append(args, "-readpass", s.PasswordFile)
		}
	case s.Cert != "" && s.Key != "":
		args = append(args, "-certs", s.Cert, "-key", s.Key)
		if s.PasswordFile != "" {
			args = append(args, "-readpass", s.PasswordFile)
		}
	default:
		return errors.New("codesign: no certificate")
	}
	if s.TimestampURL != "" {
		args = append(args, "-ts", s.TimestampURL)
	}
	args = append(args, "-in", in, "-out", out)
	_ = os.Remove(out)
	return run(ctx, args...)
}

// SignInPlace signs path, replacing it.
func (s Signer) SignInPlace(ctx context.Context, path string) error {
	tmp := path + ".signing"
	if err := s.Sign(ctx, path, tmp); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// Verify checks path's signature against CAFile (or the system's roots).
func (s Signer) Verify(ctx context.Context, path string) error {
	args := []string{"verify", "-in", path}
	if s.CAFile != "" {
		args = append(args, "-CAfile", s.CAFile)
	}
	return run(ctx, args...)
}

func run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "osslsigncode", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("osslsigncode %s: %w\n%s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}
