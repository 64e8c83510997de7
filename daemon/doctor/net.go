package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// checkBrokers dials every broker and, for TLS URLs, does the TLS handshake
// with the post's CA and client certificate.
//
// It deliberately stops there: an MQTT CONNECT with the post's client id
// would make the broker drop the running post's own session (MQTT allows one
// session per client id), so the doctor would cut the post off HQ while
// diagnosing it. Credentials and the ACL are therefore not tested here; the
// running post's status (link up, last error) covers them.
func (x *run) checkBrokers(ctx context.Context) {
	if len(x.cfg.HQ.Brokers) == 0 {
		x.r.add("broker", Skipped, "no hq.brokers: the post runs offline")
		return
	}
	for i, raw := range x.cfg.HQ.Brokers {
		name := fmt.Sprintf("broker %d", i)
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || u.Port() == "" {
			x.r.add(name, Fail, "hq.brokers[%d] is not a broker URL: see the config findings", i)
			continue
		}
		useTLS := false
		switch strings.ToLower(u.Scheme) {
		case "tls", "ssl", "mqtts", "tcps":
			useTLS = true
		}
		x.r.Findings = append(x.r.Findings, x.reach(ctx, name, u.Host, u.Hostname(), useTLS))
	}
}

// checkHQURL does the TLS handshake with hq.url's host.
func (x *run) checkHQURL(ctx context.Context) {
	raw := x.cfg.HQ.URL
	if raw == "" {
		x.r.add("hq https", Skipped, "no hq.url")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		x.r.add("hq https", Fail, "hq.url is not a URL: see the config findings")
		return
	}
	useTLS := u.Scheme == "https"
	port := u.Port()
	if port == "" {
		port = "443"
		if !useTLS {
			port = "80"
		}
	}
	x.r.Findings = append(x.r.Findings, x.reach(ctx, "hq https", net.JoinHostPort(u.Hostname(), port), u.Hostname(), useTLS))
}

// reach dials addr and, with useTLS, completes a TLS handshake, returning
// the finding.
func (x *run) reach(ctx context.Context, name, addr, host string, useTLS bool) Finding {
	conn, err := x.dial(ctx, "tcp", addr)
	if err != nil {
		return finding(name, Fail, "%s: %s", addr, explainDial(err))
	}
	defer conn.Close()
	if !useTLS {
		return finding(name, OK, "%s: TCP connection opened (plain TCP, no TLS)", addr)
	}
	conf, note := x.clientTLS()
	conf.ServerName = host
	tc := tls.Client(conn, conf)
	hctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return finding(name, Fail, "%s: TLS handshake: %s%s", addr, explainTLS(err), note)
	}
	// With TLS 1.3 a refused client certificate shows only as an alert
	// after the handshake: read briefly for it (a broker or web server
	// waiting for our first bytes is the good outcome: a timeout).
	if err := tc.SetReadDeadline(time.Now().Add(alertWait)); err == nil {
		var b [1]byte
		if _, err := tc.Read(b[:]); err != nil && !isTimeout(err) {
			return finding(name, Fail, "%s: the server closed the TLS connection: %s%s", addr, explainTLS(err), note)
		}
	}
	cs := tc.ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return finding(name, OK, "%s: TLS handshake ok%s", addr, note)
	}
	leaf := cs.PeerCertificates[0]
	left := leaf.NotAfter.Sub(x.now)
	if left < ExpiryWarning {
		return finding(name, Warn, "%s: TLS handshake ok, but the server certificate expires %s (in %s): tell HQ%s", addr, stamp(leaf.NotAfter), roundAge(left), note)
	}
	return finding(name, OK, "%s: TLS handshake ok (%s), server certificate %q valid until %s%s", addr, tls.VersionName(cs.Version), leaf.Subject.CommonName, stamp(leaf.NotAfter), note)
}

// clientTLS is the post's TLS client configuration: hq.ca_file as the only
// roots (the system's when unset) and the client certificate when set. A
// file that cannot be used is left out and named in note (the TLS files
// check says why).
func (x *run) clientTLS() (*tls.Config, string) {
	h := x.cfg.HQ
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	var notes []string
	if h.CAFile != "" {
		pool := x509.NewCertPool()
		if b, err := os.ReadFile(h.CAFile); err == nil && pool.AppendCertsFromPEM(b) {
			conf.RootCAs = pool
		} else {
			notes = append(notes, "hq.ca_file unusable, system roots used")
		}
	}
	if h.CertFile != "" && h.KeyFile != "" {
		if pair, err := tls.LoadX509KeyPair(h.CertFile, h.KeyFile); err == nil {
			conf.Certificates = []tls.Certificate{pair}
		} else {
			notes = append(notes, "no client certificate sent (hq.cert_file unusable)")
		}
	}
	if len(notes) == 0 {
		return conf, ""
	}
	return conf, " (" + strings.Join(notes, "; ") + ")"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func explainDial(err error) string {
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "refused"):
		return fmt.Sprintf("connection refused: nothing listens there (broker down, wrong host or port, or a firewall rejecting) (%v)", err)
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot resolve %s: check the host name and this machine's DNS (%v)", dns.Name, err)
	case isTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s: a firewall dropping the traffic, a wrong address, or the link down (%v)", DialTimeout, err)
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		return fmt.Sprintf("network unreachable: check this machine's network and routes (%v)", err)
	default:
		return err.Error()
	}
}

func explainTLS(err error) string {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) && len(ve.UnverifiedCertificates) > 0 && errors.As(err, &ua) {
		c := ve.UnverifiedCertificates[0]
		return fmt.Sprintf("certificate signed by unknown authority (the server's certificate %q is issued by %q): check hq.ca_file", c.Subject.CommonName, c.Issuer.CommonName)
	}
	switch {
	case errors.As(err, &ua):
		return "certificate signed by unknown authority: check hq.ca_file"
	case errors.As(err, &hn):
		return fmt.Sprintf("%v: the broker URL's host must be a name in the server's certificate", err)
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return fmt.Sprintf("%v: the server certificate is expired or not yet valid (or this machine's clock is wrong)", err)
	case strings.Contains(err.Error(), "certificate required"), strings.Contains(err.Error(), "bad certificate"),
		strings.Contains(err.Error(), "unknown certificate authority"), strings.Contains(err.Error(), "expired certificate"):
		return fmt.Sprintf("the server refused the client certificate (%v): check hq.cert_file / hq.key_file, and that HQ's CA issued it", err)
	case isTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no TLS answer within %s: is it a TLS port? (%v)", DialTimeout, err)
	default:
		return err.Error()
	}
}

// checkTLSFiles reads hq.ca_file, hq.cert_file and hq.key_file.
func (x *run) checkTLSFiles() {
	h := x.cfg.HQ
	if h.CAFile == "" && h.CertFile == "" && h.KeyFile == "" {
		x.r.add("tls files", Skipped, "no hq.ca_file, hq.cert_file or hq.key_file")
		return
	}
	if h.CAFile != "" {
		x.checkCA(h.CAFile)
	}
	if h.KeyFile != "" {
		if _, err := os.ReadFile(h.KeyFile); err != nil {
			x.r.add("tls key", Fail, "hq.key_file %s: %v", h.KeyFile, err)
			return
		}
	}
	if h.CertFile == "" || h.KeyFile == "" {
		x.r.add("tls cert", Fail, "hq.cert_file and hq.key_file must both be set for mTLS (cert %q, key %q)", h.CertFile, h.KeyFile)
		return
	}
	pair, err := tls.LoadX509KeyPair(h.CertFile, h.KeyFile)
	if err != nil {
		x.r.add("tls cert", Fail, "hq.cert_file %s with hq.key_file %s: %v", h.CertFile, h.KeyFile, err)
		return
	}
	leaf := pair.Leaf
	if res, detail := x.validity(leaf); res != OK {
		x.r.add("tls cert", res, "hq.cert_file %s %s: get a new client certificate from HQ", h.CertFile, detail)
	} else {
		x.r.add("tls cert", OK, "hq.cert_file %s matches hq.key_file, %s", h.CertFile, detail)
	}
	// The broker takes the CN as the post's identity: with another CN
	// the ACL refuses every publish on this post's topics (and MQTT
	// 3.1.1 acknowledges them all the same), so nothing reaches HQ.
	if cn := leaf.Subject.CommonName; cn != x.cfg.PostID {
		x.r.add("tls cert", Fail, "hq.cert_file %s is issued to CN %q, not post_id %q: the broker's ACL refuses every publish of this post (hits never reach HQ); "+
			"get a certificate for %[3]q or set post_id to %[2]q", h.CertFile, cn, x.cfg.PostID)
	}
}

func (x *run) checkCA(file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		x.r.add("tls ca", Fail, "hq.ca_file %s: %v", file, err)
		return
	}
	var worst Result = OK
	var details []string
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			x.r.add("tls ca", Fail, "hq.ca_file %s: certificate %d: %v", file, n+1, err)
			return
		}
		n++
		res, d := x.validity(c)
		details = append(details, fmt.Sprintf("%q %s", c.Subject.CommonName, d))
		if rank(res) > rank(worst) {
			worst = res
		}
	}
	if n == 0 {
		x.r.add("tls ca", Fail, "hq.ca_file %s holds no PEM certificate", file)
		return
	}
	detail := fmt.Sprintf("hq.ca_file %s: %s", file, strings.Join(details, "; "))
	if worst != OK {
		detail += ": get HQ's current CA certificate"
	}
	x.r.add("tls ca", worst, "%s", detail)
}

// validity classifies a certificate's window at the run's time.
func (x *run) validity(c *x509.Certificate) (Result, string) {
	switch {
	case x.now.After(c.NotAfter):
		return Fail, "expired on " + stamp(c.NotAfter)
	case x.now.Before(c.NotBefore):
		return Fail, fmt.Sprintf("is not valid before %s (is this machine's clock right? it says %s)", stamp(c.NotBefore), stamp(x.now))
	case c.NotAfter.Sub(x.now) < ExpiryWarning:
		return Warn, fmt.Sprintf("expires %s (in %s)", stamp(c.NotAfter), roundAge(c.NotAfter.Sub(x.now)))
	default:
		return OK, "valid until " + stamp(c.NotAfter)
	}
}

func rank(r Result) int {
	switch r {
	case Fail:
		return 2
	case Warn:
		return 1
	default:
		return 0
	}
}
