package codesign

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestTestSignerCertificate(t *testing.T) {
	s, err := NewTestSigner(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.Cert)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 3072 {
		t.Errorf("leaf key is not RSA 3072")
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning {
		t.Errorf("leaf EKU = %v, want codeSigning only", leaf.ExtKeyUsage)
	}
	caPEM, _ := os.ReadFile(s.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}); err != nil {
		t.Errorf("leaf does not chain to the test CA: %v", err)
	}
	if fi, err := os.Stat(s.Key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if _, ok, err := FromEnv(env(nil)); ok || err != nil {
		t.Errorf("empty environment: ok=%v err=%v", ok, err)
	}
	if s, ok, err := FromEnv(env(map[string]string{EnvPKCS12: "a.p12", EnvPasswordFile: "pw", EnvTimestampURL: "http://ts"})); !ok || err != nil || s.PKCS12 != "a.p12" || s.TimestampURL != "http://ts" {
		t.Errorf("pkcs12: %+v %v %v", s, ok, err)
	}
	if _, _, err := FromEnv(env(map[string]string{EnvCert: "c.pem"})); err == nil {
		t.Error("a certificate without a key must be refused")
	}
	if _, _, err := FromEnv(env(map[string]string{EnvPKCS12: "a.p12", EnvCert: "c", EnvKey: "k"})); err == nil {
		t.Error("both kinds at once must be refused")
	}
}

// TestSignVerify signs a minimal PE file when osslsigncode is installed.
func TestSignVerify(t *testing.T) {
	if _, err := exec.LookPath("osslsigncode"); err != nil {
		t.Skip("osslsigncode not installed")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go to build a PE file")
	}
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/main.go", []byte("package main\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/go.mod", []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", "x.exe", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	s, err := NewTestSigner(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SignInPlace(t.Context(), dir+"/x.exe"); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(t.Context(), dir+"/x.exe"); err != nil {
		t.Fatal(err)
	}
	other, err := NewTestSigner(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Verify(t.Context(), dir+"/x.exe"); err == nil {
		t.Error("a signature verified against another CA")
	}
}
