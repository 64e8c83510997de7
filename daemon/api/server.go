package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/engine/logkey"
)

// handlerFunc answers one request; actor is the authenticated token's name
// (DefaultLocalActor without tokens).
type handlerFunc func(w http.ResponseWriter, r *http.Request, actor string)

// route is one path of the API with its handlers per method.
type route struct {
	s       *Server
	pattern string
	public  bool // answered without a token (probes, the API description)
	methods []string
	funcs   []handlerFunc
	allow   string
	m       *routeMetrics
}

// routeSpec describes a route for buildRoutes and for the OpenAPI
// consistency test.
type routeSpec struct {
	pattern string
	method  string
	public  bool
	h       func(s *Server) handlerFunc
}

// routeSpecs is the API. Every entry must appear in openapi.json and
// nothing else may (see TestOpenAPIMatchesRoutes).
var routeSpecs = []routeSpec{
	{"/v1/screen", http.MethodPost, false, func(s *Server) handlerFunc { return s.handleScreen }},
	{"/v1/manifests", http.MethodPost, false, func(s *Server) handlerFunc { return s.handleManifest }},
	{"/v1/hits", http.MethodGet, false, func(s *Server) handlerFunc { return s.handleHits }},
	{"/v1/hits/{id}", http.MethodGet, false, func(s *Server) handlerFunc { return s.handleHit }},
	{"/v1/hits/{id}/disposition", http.MethodPost, false, func(s *Server) handlerFunc { return s.handleDisposition }},
	{"/v1/status", http.MethodGet, false, func(s *Server) handlerFunc { return s.handleStatus }},
	{"/v1/openapi.json", http.MethodGet, true, func(s *Server) handlerFunc { return s.handleOpenAPI }},
	{"/healthz", http.MethodGet, true, func(s *Server) handlerFunc { return s.handleHealthz }},
	{"/readyz", http.MethodGet, true, func(s *Server) handlerFunc { return s.handleReadyz }},
	{"/metrics", http.MethodGet, false, func(s *Server) handlerFunc { return s.handleMetrics }},
}

// notFoundRoute is the metrics label of requests no route matched.
const notFoundRoute = "other"

func (s *Server) buildRoutes() http.Handler {
	mux := http.NewServeMux()
	byPattern := map[string]*route{}
	for _, spec := range routeSpecs {
		rt := byPattern[spec.pattern]
		if rt == nil {
			rt = &route{s: s, pattern: spec.pattern, public: spec.public, m: s.metrics.route(spec.pattern)}
			byPattern[spec.pattern] = rt
			s.routes = append(s.routes, rt)
			mux.Handle(spec.pattern, rt)
		}
		rt.methods = append(rt.methods, spec.method)
		rt.funcs = append(rt.funcs, spec.h(s))
		rt.allow = strings.Join(rt.methods, ", ")
	}
	other := &route{s: s, pattern: notFoundRoute, public: true, m: s.metrics.route(notFoundRoute)}
	if s.console != nil {
		mux.Handle("/v1/", other)
		mux.Handle("/", s.console)
	} else {
		mux.Handle("/", other)
	}
	return mux
}

// statusWriter remembers the status and size of a response for metrics and
// the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var writerPool = sync.Pool{New: func() any { return new(statusWriter) }}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := writerPool.Get().(*statusWriter)
	*sw = statusWriter{ResponseWriter: w}
	rt.serve(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	d := time.Since(start)
	rt.m.observe(sw.status, d)
	s := rt.s
	switch {
	case sw.status >= 500:
		s.log.Warn("API request failed", logkey.Route, rt.pattern, logkey.Method, r.Method, logkey.Status, sw.status,
			logkey.Duration, d, logkey.In, r.ContentLength, logkey.Out, sw.bytes)
	case s.log.Enabled(r.Context(), slog.LevelDebug):
		s.log.Debug("API request", logkey.Route, rt.pattern, logkey.Method, r.Method, logkey.Status, sw.status,
			logkey.Duration, d, logkey.In, r.ContentLength, logkey.Out, sw.bytes)
	}
	*sw = statusWriter{}
	writerPool.Put(sw)
}

func (rt *route) serve(w http.ResponseWriter, r *http.Request) {
	actor, ok := rt.s.authorize(r)
	if !ok && !rt.public {
		closeUnread(w, r)
		w.Header().Set("WWW-Authenticate", `Bearer realm="watchpost"`)
		writeError(w, http.StatusUnauthorized, "missing or unknown API token: send Authorization: Bearer <token>", "")
		return
	}
	if rt.funcs == nil {
		closeUnread(w, r)
		writeError(w, http.StatusNotFound, "no such endpoint: see /v1/openapi.json", "")
		return
	}
	for i, m := range rt.methods {
		if m == r.Method {
			rt.funcs[i](w, r, actor)
			return
		}
	}
	closeUnread(w, r)
	w.Header().Set("Allow", rt.allow)
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s: use %s", r.Method, rt.pattern, rt.allow), "")
}

// authorize returns the actor of a request: the name of the token it
// presents, or DefaultLocalActor when no tokens are configured. Every
// configured token is compared, in constant time, whatever matches.
func (s *Server) authorize(r *http.Request) (string, bool) {
	if len(s.tokens) == 0 {
		return DefaultLocalActor, true
	}
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(h[len(prefix):])))
	actor, found := "", 0
	for i := range s.tokens {
		if subtle.ConstantTimeCompare(sum[:], s.tokens[i].sum[:]) == 1 {
			actor, found = s.tokens[i].name, 1
		}
	}
	return actor, found == 1
}

// apiError is the body of every 4xx and 5xx answer.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// badRequest is a client error found while reading a request: its status,
// message and the field at fault.
type badRequest struct {
	status int
	msg    string
	field  string
	// unread: the request's body was not read to its end, and the
	// answer ends its connection (endConnection).
	unread bool
	// retryAfter, when set, is the Retry-After header (seconds).
	retryAfter string
}

func (e *badRequest) Error() string { return e.msg }

func bad(field, format string, args ...any) *badRequest {
	return &badRequest{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), field: field}
}

func writeBad(w http.ResponseWriter, r *http.Request, e *badRequest) {
	if e.unread {
		endConnection(w, r)
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	writeError(w, e.status, e.msg, e.field)
}

// closeUnread makes the answer to r, written without reading its body,
// the last on its connection (see badRequest.unread).
func closeUnread(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		endConnection(w, r)
	}
}

// refuseGrace is how long the rest of a refused request's body may go on
// arriving (up to maxDrain bytes) before its connection is closed.
const (
	refuseGrace = 100 * time.Millisecond
	maxDrain    = 256 << 10
)

// endConnection makes the answer to r, written without reading its body
// to the end, the last on its connection. Left to itself net/http would
// read what is left of the body (up to 256 KiB), as slowly as the client
// sends it, before answering. What arrives within refuseGrace is read
// and dropped instead: a client that has sent its whole body (without a
// token, with the wrong Content-Type) reads the answer rather than a
// reset connection, and one still sending more than 256 KiB is closed the
// way net/http closes an oversized body (its FIN, then a pause).
func endConnection(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	if r.ContentLength == 0 {
		return
	}
	if http.NewResponseController(w).SetReadDeadline(time.Now().Add(refuseGrace)) != nil {
		return // a writer without a connection (a test recorder)
	}
	_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
}

func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, apiError{Error: msg, Field: field})
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { b := bufPool.Get().(*bytes.Buffer); b.Reset(); return b }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // do not keep manifest-sized buffers around
		bufPool.Put(b)
	}
}

// writeJSON encodes v into a pooled buffer and writes it with its length.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := getBuf()
	defer putBuf(buf)
	if err := input.NewEncoder(buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"encode response"}` + "\n")
	}
	writeBytes(w, status, "application/json", buf.Bytes())
}

// Header values shared by every answer; net/http only reads them.
var (
	jsonType = []string{"application/json"}
	noStore  = []string{"no-store"}
)

func writeBytes(w http.ResponseWriter, status int, contentType string, b []byte) {
	h := w.Header()
	if contentType == "application/json" {
		h["Content-Type"] = jsonType
	} else {
		h["Content-Type"] = []string{contentType}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	h["Cache-Control"] = noStore
	w.WriteHeader(status)
	w.Write(b)
}

// readBody reads at most limit bytes of the request body into buf, which
// grows as the bytes arrive: the announced Content-Length only refuses a
// body over the limit (413), it never sizes a buffer. The read waits up
// to bodyWait for one of the server's body readers (503 with
// Retry-After without), and the body must arrive within bodyTimeout
// (408). Every refusal closes the connection.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64, buf *bytes.Buffer) *badRequest {
	if r.ContentLength > limit {
		return &badRequest{status: http.StatusRequestEntityTooLarge, unread: true,
			msg: fmt.Sprintf("body is %d bytes; the limit is %d", r.ContentLength, limit)}
	}
	if !s.acquireReader(r.Context()) {
		return &badRequest{status: http.StatusServiceUnavailable, unread: true, retryAfter: "1",
			msg: fmt.Sprintf("the post is reading %d request bodies already and none ended within %v: retry in a second", cap(s.readers), s.bodyWait)}
	}
	defer func() { <-s.readers }()
	rc := http.NewResponseController(w)
	// A writer without a connection (a test recorder) has no deadline;
	// after the body, the connection's next request gets net/http's own.
	deadline := rc.SetReadDeadline(time.Now().Add(s.bodyTimeout)) == nil
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if deadline && err == nil {
		_ = rc.SetReadDeadline(time.Time{})
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &badRequest{status: http.StatusRequestEntityTooLarge, unread: true, msg: fmt.Sprintf("body is larger than the limit of %d bytes", limit)}
	case errors.Is(err, os.ErrDeadlineExceeded):
		msg := fmt.Sprintf("body not received within the %v allowed: %d bytes arrived", s.bodyTimeout, buf.Len())
		if r.ContentLength > 0 {
			msg += fmt.Sprintf(" of the %d announced", r.ContentLength)
		}
		return &badRequest{status: http.StatusRequestTimeout, unread: true, msg: msg}
	case err != nil:
		return &badRequest{status: http.StatusBadRequest, unread: true, msg: fmt.Sprintf("read body: %v", err)}
	case buf.Len() == 0:
		return bad("", "empty body")
	}
	return nil
}

// acquireReader takes one of the body readers, waiting at most bodyWait
// (network time, not the server's Clock) or until ctx ends.
func (s *Server) acquireReader(ctx context.Context) bool {
	select {
	case s.readers <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(s.bodyWait)
	defer t.Stop()
	select {
	case s.readers <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// checkContentType accepts a body whose media type is one of want (or no
// Content-Type at all when allowMissing).
func checkContentType(r *http.Request, allowMissing bool, want ...string) *badRequest {
	ct := r.Header.Get("Content-Type")
	if ct == "" && allowMissing {
		return nil
	}
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	for _, x := range want {
		if mt == x {
			return nil
		}
	}
	return &badRequest{status: http.StatusUnsupportedMediaType, unread: true,
		msg: fmt.Sprintf("Content-Type %q is not accepted here: send %s", ct, strings.Join(want, " or "))}
}

// decodeStrict decodes exactly one JSON object into v the way every door
// decodes a traveller (input.DecodeJSON), and names the field at fault.
func decodeStrict(b []byte, v any) *badRequest {
	if err := input.DecodeJSON(b, v, "body"); err != nil {
		return inputBad(err)
	}
	return nil
}

// inputBad is the 400 of an input error, naming the field of a
// *input.JSONError.
func inputBad(err error) *badRequest {
	var je *input.JSONError
	if errors.As(err, &je) {
		return &badRequest{status: http.StatusBadRequest, field: je.Field, msg: je.Msg}
	}
	return bad("", "%v", err)
}

// storeError answers a Ledger or StatusSource error.
func (s *Server) storeError(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, what+": not found", "")
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, what+": "+err.Error(), "")
	case errors.Is(err, ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, what+": "+err.Error(), "")
	case errors.Is(err, ErrInsufficientStorage):
		writeError(w, http.StatusInsufficientStorage, what+": not recorded: "+err.Error(), "")
	default:
		s.log.Warn("API store error", logkey.What, what, logkey.Error, err)
		writeError(w, http.StatusInternalServerError, what+": internal error (see the post's log)", "")
	}
}

// notRecorded is the status and the reason of an answer whose screening
// the ledger could not record (otherwise is the reason of a 500); the
// answer still carries the result, so that no hit goes unseen. A disk
// short of its reserve is a 507: the post screens on the lists it holds,
// but records nothing until space returns.
func notRecorded(err error, otherwise string) (status int, reason string) {
	if errors.Is(err, ErrInsufficientStorage) {
		return http.StatusInsufficientStorage, "not recorded: " + err.Error() +
			": screened on the lists held, but not recorded, and hits cannot be disposed of; free disk space on the post, then screen again"
	}
	return http.StatusInternalServerError, otherwise
}
