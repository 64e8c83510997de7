package broker

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
)

// hook authenticates clients and enforces the topic rules (package doc).
// The authenticated identity replaces the client's username
// (cl.Properties.Username) at CONNECT, before the client is registered,
// subscribes or is persisted; the ACL checks read it from there.
type hook struct {
	mochi.HookBase
	hq    string
	users map[string]verifier
	anon  bool
	log   *slog.Logger
}

func (*hook) ID() string { return "watchpost-acl" }

func (*hook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

// errRefused carries the reason a connection is refused, for the log.
type errRefused string

func (e errRefused) Error() string { return string(e) }

// OnConnectAuthenticate resolves the identity, checks the client id and
// the will, and records the identity as the username.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	id, how, err := h.identify(cl, pk)
	if err == nil {
		err = h.checkClientID(id, cl.ID)
	}
	if err == nil && pk.Connect.WillFlag && !h.rulesOf(id).allows(pk.Connect.WillTopic, true) {
		err = errRefused("will topic " + pk.Connect.WillTopic + " is not writable by " + id)
	}
	if err != nil {
		h.log.Warn("connection refused", logkey.ClientID, cl.ID, logkey.Username, string(pk.Connect.Username),
			logkey.Remote, cl.Net.Remote, logkey.Listener, cl.Net.Listener, logkey.Reason, err.Error())
		return false
	}
	cl.Properties.Username = []byte(id)
	h.log.Info("client authenticated", logkey.ClientID, cl.ID, logkey.Identity, id, logkey.By, how,
		logkey.Remote, cl.Net.Remote, logkey.Listener, cl.Net.Listener)
	return true
}

// identify returns the client's identity and how it was established.
func (h *hook) identify(cl *mochi.Client, pk packets.Packet) (id, how string, err error) {
	if tc, ok := cl.Net.Conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		if len(st.VerifiedChains) > 0 && len(st.PeerCertificates) > 0 {
			cn := st.PeerCertificates[0].Subject.CommonName
			if err := h.validIdentity(cn); err != nil {
				return "", "", err
			}
			return cn, "certificate", nil
		}
	}
	if user := string(pk.Connect.Username); user != "" {
		v, ok := h.users[user]
		if !ok || !pk.Connect.PasswordFlag || !v(pk.Connect.Password) {
			return "", "", errRefused("bad username or password")
		}
		return user, "password", nil
	}
	if pk.Connect.PasswordFlag {
		return "", "", errRefused("password without username")
	}
	if !h.anon || !isLoopbackRemote(cl.Net.Remote) {
		return "", "", errRefused("no certificate and no username")
	}
	if post, ok := strings.CutPrefix(cl.ID, protocol.ClientIDPrefix); ok {
		if err := protocol.ValidatePostID(post); err != nil {
			return "", "", errRefused(err.Error())
		}
		return post, "anonymous-loopback", nil
	}
	return h.hq, "anonymous-loopback", nil
}

func (h *hook) validIdentity(id string) error {
	if id == h.hq {
		return nil
	}
	if err := protocol.ValidatePostID(id); err != nil {
		return errRefused("identity is neither HQ nor a post: " + err.Error())
	}
	return nil
}

// checkClientID ties client ids to identities: a post uses exactly
// protocol.PostClientID(post); HQ uses any id outside that namespace. No
// client can thus take over another's session.
func (h *hook) checkClientID(id, clientID string) error {
	if id == h.hq {
		if strings.HasPrefix(clientID, protocol.ClientIDPrefix) {
			return errRefused("HQ may not use a post client id")
		}
		return nil
	}
	want, err := protocol.PostClientID(id)
	if err != nil {
		return errRefused(err.Error())
	}
	if clientID != want {
		return errRefused("post " + id + " must use client id " + want)
	}
	return nil
}

func (h *hook) rulesOf(id string) rules {
	if id == h.hq {
		return hqRules
	}
	return postRules(id)
}

// OnACLCheck applies the identity's rules to a publish (write), a
// subscription filter or a delivery (read).
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	id := string(cl.Properties.Username)
	if id == "" {
		return false // cannot happen: authentication sets it
	}
	if h.rulesOf(id).allows(topic, write) {
		return true
	}
	h.log.Warn("access denied", logkey.ClientID, cl.ID, logkey.Identity, id, logkey.Topic, topic, logkey.Write, write)
	return false
}

func isLoopbackRemote(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// demote passes mochi's info records on as debug, so the broker's own
// records carry the operational events; warnings and errors stay.
type demote struct{ h slog.Handler }

func (d demote) level(l slog.Level) slog.Level {
	if l <= slog.LevelInfo {
		return l - 4
	}
	return l
}

func (d demote) Enabled(ctx context.Context, l slog.Level) bool {
	return d.h.Enabled(ctx, d.level(l))
}

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	r.Level = d.level(r.Level)
	return d.h.Handle(ctx, r)
}

func (d demote) WithAttrs(a []slog.Attr) slog.Handler { return demote{d.h.WithAttrs(a)} }
func (d demote) WithGroup(g string) slog.Handler      { return demote{d.h.WithGroup(g)} }
