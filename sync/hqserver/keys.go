package hqserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/publish"
)

// maxKeyRequest bounds the body of POST /v1/keys.
const maxKeyRequest = 64 << 10

// KeyRequest is the JSON body of POST /v1/keys.
type KeyRequest struct {
	// PublicKey is "ed25519:<base64>" (the key line of keygen's hq.pub).
	PublicKey string `json:"public_key"`
	// NotBefore (RFC 3339; zero or absent: now) and NotAfter (RFC 3339,
	// required) bound the new key's window.
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after"`
}

// KeyResponse is the JSON answer of POST /v1/keys (publish.AnnounceResult).
type KeyResponse struct {
	KeyID     string    `json:"key_id"`
	SignerID  string    `json:"signer_id"`
	PublicKey string    `json:"public_key"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	IssuedAt  time.Time `json:"issued_at"`
	Topic     string    `json:"topic"`
	Bytes     int       `json:"bytes"`
	// Republished: the key had been announced with the same window; the
	// stored statement was published again.
	Republished bool `json:"republished,omitempty"`
}

// NewKeyResponse converts an announcement's result.
func NewKeyResponse(r publish.AnnounceResult) KeyResponse {
	return KeyResponse{
		KeyID: r.KeyID.String(), SignerID: r.SignerID.String(), PublicKey: protocol.FormatPublicKey(r.PublicKey),
		NotBefore: r.NotBefore.UTC(), NotAfter: r.NotAfter.UTC(), IssuedAt: r.IssuedAt.UTC(),
		Topic: r.Topic, Bytes: r.Bytes, Republished: r.Republished,
	}
}

// serveKeys announces the key in the request body with the publisher.
func (s *Server) serveKeys(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	res, err := s.announceKey(ctx, w, r)
	if err != nil {
		status := http.StatusInternalServerError
		var re *requestError
		if errors.As(err, &re) {
			status = re.status
			s.log.Warn("Refused a key announcement", logkey.Status, status, logkey.Reason, err.Error())
		} else {
			s.log.Error("Could not announce a key", logkey.Error, err.Error())
		}
		http.Error(w, err.Error(), status)
		return
	}
	s.log.Info("Announced a signing key over HTTP", logkey.KeyID, res.KeyID.String(), logkey.SignerID, res.SignerID.String(),
		logkey.NotBefore, res.NotBefore, logkey.NotAfter, res.NotAfter, logkey.Republished, res.Republished)
	writeJSON(w, http.StatusOK, NewKeyResponse(res), s)
}

func (s *Server) announceKey(ctx context.Context, w http.ResponseWriter, r *http.Request) (publish.AnnounceResult, error) {
	var req KeyRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxKeyRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return publish.AnnounceResult{}, badRequest(`want a JSON body {"public_key":"ed25519:<base64>","not_before":"<RFC 3339>","not_after":"<RFC 3339>"}: %v`, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return publish.AnnounceResult{}, badRequest("trailing data after the JSON body")
	}
	pub, err := protocol.ParsePublicKey(strings.TrimSpace(req.PublicKey))
	switch {
	case req.PublicKey == "":
		return publish.AnnounceResult{}, badRequest("public_key is required (the ed25519:… line of the new key's hq.pub)")
	case err != nil:
		return publish.AnnounceResult{}, badRequest("public_key: %v", err)
	case req.NotAfter.IsZero():
		return publish.AnnounceResult{}, badRequest("not_after is required (RFC 3339): the new key must expire")
	}
	res, err := s.cfg.Publisher.AnnounceKey(ctx, pub, req.NotBefore, req.NotAfter)
	if errors.Is(err, publish.ErrBadRotation) {
		return res, &requestError{status: http.StatusBadRequest, err: err}
	}
	return res, err
}
