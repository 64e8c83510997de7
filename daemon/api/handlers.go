package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/match"
	"github.com/watchpost/watchpost/engine/mrz"
	"github.com/watchpost/watchpost/engine/paxlst"
	"github.com/watchpost/watchpost/sync/protocol"
)

// screenRequest is the body of POST /v1/screen: a traveller's fields, or
// an MRZ alone.
type screenRequest struct {
	engine.Query
	MRZ string `json:"mrz,omitempty"`
}

// ScreenResult is the answer to POST /v1/screen, and one traveller of a
// manifest's answer.
type ScreenResult struct {
	// Band is the strongest band among the hits, BandNone without.
	Band engine.Band  `json:"band"`
	Hits []engine.Hit `json:"hits"`
	// HitID names the stored hit for GET /v1/hits/{id} and the
	// disposition; "" without hits.
	HitID       string       `json:"hit_id,omitempty"`
	ScreeningID string       `json:"screening_id,omitempty"`
	Traveller   engine.Query `json:"traveller"`
	// MRZ reports the check digits, repairs and quirks of an MRZ input: a
	// record whose checks fail is still screened; the officer decides.
	MRZ *input.MRZSummary `json:"mrz,omitempty"`
	// Checked are the lists the traveller was checked against, with their
	// versions and STALE flags (in a manifest's answer: once, in
	// ManifestResult.Checked).
	Checked []engine.CheckedList `json:"checked,omitempty"`
	// Warnings say what of the input was not screened as given (a name cut
	// to the caps).
	Warnings []string `json:"warnings,omitempty"`
	// Error is set when the screening could not be recorded (the answer is
	// then a 500 that still shows the hits, so that none goes unseen).
	Error string `json:"error,omitempty"`
}

// ManifestResult is the answer to POST /v1/manifests.
type ManifestResult struct {
	Flights []paxlst.Flight `json:"flights"`
	// Travellers screened, and how many of them have a hit.
	Travellers int `json:"travellers"`
	WithHits   int `json:"with_hits"`
	// Band is the strongest band of the whole manifest.
	Band engine.Band `json:"band"`
	// Checked are the lists every traveller was checked against.
	Checked []engine.CheckedList `json:"checked"`
	Results []ManifestScreening  `json:"results"`
	// Warnings are what was wrong with the message; every traveller that
	// could be read was screened.
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// ManifestScreening is one traveller of a manifest and its screening.
type ManifestScreening struct {
	Message  int    `json:"message"`  // 1-based message of the interchange
	Position int    `json:"position"` // 1-based position in the message
	Role     string `json:"role"`     // passenger or crew
	Flight   string `json:"flight,omitempty"`
	ScreenResult
}

func (s *Server) handleScreen(w http.ResponseWriter, r *http.Request, actor string) {
	var req screenRequest
	if !s.readJSON(w, r, MaxScreenBody, &req) {
		return
	}
	res := ScreenResult{Traveller: req.Query}
	if req.MRZ != "" {
		if f := setQueryField(&req.Query); f != "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("give either mrz or the traveller's fields, not both (%s is set)", f), "mrz")
			return
		}
		if len(req.MRZ) > mrz.MaxText {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("mrz is longer than %d bytes", mrz.MaxText), "mrz")
			return
		}
		q, sum, err := input.FromMRZ(&s.mrz, req.MRZ)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "mrz") {
				msg = "mrz: " + msg
			}
			writeError(w, http.StatusBadRequest, msg, "mrz")
			return
		}
		res.Traveller, res.MRZ = q, sum
		res.Warnings = input.CapQuery(&res.Traveller)
	} else {
		ws, err := input.CheckQuery(&res.Traveller)
		if err != nil {
			writeBad(w, r, inputBad(err))
			return
		}
		res.Warnings = ws
	}
	ed := s.screener.Edition()
	if res.Checked = s.checked(w, ed); res.Checked == nil {
		return
	}
	if e := s.screen(ed, &res, SourceAPI); e != nil {
		s.screenError(w, e)
		return
	}
	rec, err := s.ledger.Record(context.WithoutCancel(r.Context()), Screening{
		Source: SourceAPI, Actor: actor, Traveller: res.Traveller, Hits: res.Hits, ScreenedAt: s.clock.Now(),
	})
	if err != nil {
		s.log.Warn("API: screening not recorded", logkey.Route, "/v1/screen", logkey.Error, err)
		var status int
		status, res.Error = notRecorded(err, "the screening could not be recorded; its hits are shown but cannot be disposed of: retry")
		writeJSON(w, status, &res)
		return
	}
	res.ScreeningID, res.HitID = rec.ScreeningID, rec.HitID
	writeJSON(w, http.StatusOK, &res)
}

// screen screens res.Traveller with ed into res and counts it.
func (s *Server) screen(ed Edition, res *ScreenResult, source string) error {
	s.metrics.countScreen(source)
	start := time.Now()
	hits, err := ed.Screen(&res.Traveller)
	s.metrics.observeScreen(time.Since(start), err)
	if err != nil {
		return err
	}
	if hits == nil {
		hits = []engine.Hit{}
	}
	res.Hits, res.Band = hits, strongest(hits)
	for i := range hits {
		s.metrics.countHit(hits[i].Band, hits[i].List)
	}
	return nil
}

// checked returns the lists a screening with ed is checked against; with
// none it answers 503 with the lists missing and returns nil.
func (s *Server) checked(w http.ResponseWriter, ed Edition) []engine.CheckedList {
	checked, missing := ed.Checked()
	if len(checked) > 0 {
		return checked
	}
	if missing == nil {
		missing = []string{}
	}
	msg := "not screened: no list is loaded"
	if len(missing) > 0 {
		msg += " (missing: " + strings.Join(missing, ", ") + ")"
	}
	writeJSON(w, http.StatusServiceUnavailable, NotScreened{Error: msg, NotScreened: NotScreenedNoList, ListsMissing: missing, Checked: []engine.CheckedList{}})
	return nil
}

func (s *Server) screenError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, match.ErrEmptyQuery):
		writeError(w, http.StatusBadRequest, "a traveller needs a name or a document number", "name")
	case errors.Is(err, ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, "cannot screen: "+err.Error(), "")
	default:
		s.log.Warn("API: screening failed", logkey.Error, err)
		writeError(w, http.StatusInternalServerError, "screening failed (see the post's log)", "")
	}
}

// strongest returns the strongest band among hits, BandNone when there
// is none.
func strongest(hits []engine.Hit) engine.Band {
	if b := engine.Strongest(hits); b != "" {
		return b
	}
	return BandNone
}

// setQueryField names a traveller field that is set, or "".
func setQueryField(q *engine.Query) string {
	switch {
	case q.Name != "":
		return "name"
	case q.Surname != "":
		return "surname"
	case q.GivenNames != "":
		return "given_names"
	case q.BirthDate != "":
		return "birth_date"
	case q.Nationality != "":
		return "nationality"
	case q.Sex != "":
		return "sex"
	case q.DocumentNumber != "":
		return "document_number"
	case q.DocumentCountry != "":
		return "document_country"
	case q.NameTruncated:
		return "name_truncated"
	}
	return ""
}

func (s *Server) handleManifest(w http.ResponseWriter, r *http.Request, actor string) {
	if e := checkContentType(r, false, "application/edifact", "text/plain"); e != nil {
		writeBad(w, r, e)
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	if e := s.readBody(w, r, MaxManifestBody, buf); e != nil {
		writeBad(w, r, e)
		return
	}
	ic, err := paxlst.Parse(buf.Bytes())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	travellers := input.FromPAXLST(ic)
	res := ManifestResult{Flights: []paxlst.Flight{}, Band: BandNone, Warnings: input.PAXLSTWarnings(ic)}
	ed := s.screener.Edition() // every traveller against the same lists
	if res.Checked = s.checked(w, ed); res.Checked == nil {
		return
	}
	for mi := range ic.Messages {
		res.Flights = append(res.Flights, ic.Messages[mi].Flights...)
	}
	if len(travellers) == 0 {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "the message lists no traveller that could be read" + firstWarning(res.Warnings)})
		return
	}
	// Screen everyone first: a traveller the matcher refuses (no name, no
	// document) is reported, and nothing is recorded until all are screened.
	res.Results = make([]ManifestScreening, len(travellers))
	for i := range travellers {
		t := &travellers[i]
		out := &res.Results[i]
		*out = ManifestScreening{Message: t.Message, Position: t.Position, Role: t.Role, Flight: t.Flight,
			ScreenResult: ScreenResult{Traveller: t.Query, Band: BandNone}}
		out.Warnings = input.CapQuery(&out.Traveller)
		if err := s.screen(ed, &out.ScreenResult, SourceManifest); err != nil {
			if errors.Is(err, ErrUnavailable) {
				writeError(w, http.StatusServiceUnavailable, "cannot screen: "+err.Error(), "")
				return
			}
			if !errors.Is(err, match.ErrEmptyQuery) {
				s.log.Warn("API: screening failed", logkey.Route, "/v1/manifests", logkey.Error, err)
			}
			out.Error = "not screened: " + err.Error()
			out.Hits = []engine.Hit{}
		}
	}
	ctx := context.WithoutCancel(r.Context())
	status := http.StatusOK
	at := s.clock.Now()
	for i := range res.Results {
		out := &res.Results[i]
		if out.Error != "" {
			continue
		}
		res.Travellers++
		if len(out.Hits) > 0 {
			res.WithHits++
			if out.Band == engine.BandMatch || res.Band == BandNone {
				res.Band = out.Band
			}
		}
		rec, err := s.ledger.Record(ctx, Screening{
			Source: SourceManifest, Ref: out.Flight, Actor: actor, Traveller: out.Traveller, Hits: out.Hits, ScreenedAt: at,
		})
		if err != nil {
			s.log.Warn("API: screening not recorded", logkey.Route, "/v1/manifests", logkey.Error, err)
			out.Error = "not recorded: retry the manifest"
			status, res.Error = notRecorded(err, "some screenings could not be recorded; their hits are shown but cannot be disposed of: retry")
			continue
		}
		out.ScreeningID, out.HitID = rec.ScreeningID, rec.HitID
	}
	writeJSON(w, status, &res)
}

func firstWarning(ws []string) string {
	if len(ws) == 0 {
		return ""
	}
	return " (first problem: " + ws[0] + ")"
}

// HitList is the answer to GET /v1/hits.
type HitList struct {
	Hits []HitRecord `json:"hits"`
	// Next is the cursor of the next page, "" at the end.
	Next string `json:"next,omitempty"`
}

func (s *Server) handleHits(w http.ResponseWriter, r *http.Request, _ string) {
	f := HitFilter{Limit: DefaultHitsLimit}
	for k, vs := range r.URL.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "status":
			if v != StatusOpen && v != StatusDisposed && v != "" {
				writeError(w, http.StatusBadRequest, "status must be open or disposed", "status")
				return
			}
			f.Status = v
		case "since":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "since must be an RFC 3339 time such as 2026-03-14T10:30:00Z", "since")
				return
			}
			f.Since = t
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxHitsLimit {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("limit must be a whole number from 1 to %d", MaxHitsLimit), "limit")
				return
			}
			f.Limit = n
		case "cursor":
			f.Cursor = v
		default:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown query parameter %q: use status, since, limit or cursor", k), k)
			return
		}
	}
	hits, next, err := s.ledger.Hits(r.Context(), f)
	if err != nil {
		s.storeError(w, "list hits", err)
		return
	}
	if hits == nil {
		hits = []HitRecord{}
	}
	writeJSON(w, http.StatusOK, HitList{Hits: hits, Next: next})
}

func (s *Server) handleHit(w http.ResponseWriter, r *http.Request, _ string) {
	id := r.PathValue("id")
	h, err := s.ledger.Hit(r.Context(), id)
	if err != nil {
		s.storeError(w, "hit "+strconv.Quote(id), err)
		return
	}
	writeJSON(w, http.StatusOK, &h)
}

// dispositionRequest is the body of POST /v1/hits/{id}/disposition.
type dispositionRequest struct {
	Decision string `json:"decision"`
	Officer  string `json:"officer"`
	Note     string `json:"note"`
}

func (s *Server) handleDisposition(w http.ResponseWriter, r *http.Request, actor string) {
	var req dispositionRequest
	if !s.readJSON(w, r, MaxScreenBody, &req) {
		return
	}
	switch req.Decision {
	case DecisionConfirmed, DecisionFalsePositive, DecisionReferred:
	case "":
		writeError(w, http.StatusBadRequest, "decision is required: confirmed, false_positive or referred", "decision")
		return
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("decision %q is not one of confirmed, false_positive, referred", req.Decision), "decision")
		return
	}
	req.Officer = strings.TrimSpace(req.Officer)
	switch {
	case req.Officer == "":
		writeError(w, http.StatusBadRequest, "officer is required: the id of the officer who decided", "officer")
		return
	case utf8.RuneCountInString(req.Officer) > MaxOfficerLength || !utf8.ValidString(req.Officer):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("officer must be valid text of at most %d characters", MaxOfficerLength), "officer")
		return
	case utf8.RuneCountInString(req.Note) > MaxNoteLength || !utf8.ValidString(req.Note):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("note must be valid text of at most %d characters", MaxNoteLength), "note")
		return
	}
	id := r.PathValue("id")
	h, err := s.ledger.Dispose(context.WithoutCancel(r.Context()), id, Disposition{
		Decision: req.Decision, Officer: req.Officer, Note: req.Note, Actor: actor, DecidedAt: s.clock.Now(),
	})
	if err != nil {
		s.storeError(w, "hit "+strconv.Quote(id), err)
		return
	}
	writeJSON(w, http.StatusOK, &h)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, _ string) {
	st, err := s.status.Status(r.Context())
	if err != nil {
		s.storeError(w, "status", err)
		return
	}
	if st.Lists == nil {
		st.Lists = []protocol.ListHeld{}
	}
	writeJSON(w, http.StatusOK, &st)
}

func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request, _ string) {
	writeBytes(w, http.StatusOK, "text/plain; charset=utf-8", []byte("ok\n"))
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request, _ string) {
	state, reason := s.readiness.Ready(r.Context())
	body := state.String()
	if reason != "" {
		body += ": " + reason
	}
	status := http.StatusOK
	if state != Ready && state != Degraded {
		status = http.StatusServiceUnavailable
	}
	writeBytes(w, status, "text/plain; charset=utf-8", []byte(body+"\n"))
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, _ string) {
	s.metricsHandler.ServeHTTP(w, r)
}

//go:embed openapi.json
var openAPI []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request, _ string) {
	writeBytes(w, http.StatusOK, "application/json", openAPI)
}

// readJSON reads a JSON request body of at most limit bytes into v,
// strictly (unknown fields and trailing data are errors). On a bad
// request it writes the 4xx answer and returns false.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if e := checkContentType(r, true, "application/json"); e != nil {
		writeBad(w, r, e)
		return false
	}
	buf := getBuf()
	defer putBuf(buf)
	if e := s.readBody(w, r, limit, buf); e != nil {
		writeBad(w, r, e)
		return false
	}
	if e := decodeStrict(buf.Bytes(), v); e != nil {
		writeBad(w, r, e)
		return false
	}
	return true
}
