package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/paxlst"
)

// Format is the kind of a traveller file, chosen by its extension.
type Format string

// Formats of traveller files.
const (
	// FormatPAXLST is a UN/EDIFACT PAXLST interchange (.edi, .txt, .paxlst).
	FormatPAXLST Format = "paxlst"
	// FormatJSONL is one JSON traveller per line, or a JSON array of them
	// (.jsonl, .json).
	FormatJSONL Format = "jsonl"
)

// formatOf returns the format a file name's extension selects.
func formatOf(name string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".edi", ".txt", ".paxlst":
		return FormatPAXLST, true
	case ".jsonl", ".json":
		return FormatJSONL, true
	}
	return "", false
}

// Traveller is one person read from a file.
type Traveller struct {
	// Index is the traveller's 1-based position in the file. With the
	// file's ID it identifies the screening: ID + "/" + Index.
	Index int
	// Line is the 1-based line where a JSON traveller starts (0 for PAXLST).
	Line int
	// Traveller holds the Query to screen (its ID is the one the file gave,
	// a JSON "id", or "<message reference>/<position>" for PAXLST) and, for
	// PAXLST only, the message, position, role and flight that place it.
	input.Traveller
}

// inputError is a file that cannot be screened: Summary says what is wrong,
// Details say where (one line each). Details may quote values from the file,
// so they go to the reason file and to Debug logs only.
type inputError struct {
	Summary string
	Details []string
}

func (e *inputError) Error() string { return e.Summary }

func badInput(details []string, format string, args ...any) *inputError {
	return &inputError{Summary: fmt.Sprintf(format, args...), Details: details}
}

// maxDetails bounds the detail lines of a reason.
const maxDetails = 100

// parseFile reads the travellers of a file. With lenient false, any parser
// warning or bad line rejects the file; with lenient true they are skipped
// and counted in warnings. An *inputError says why the file is rejected.
func parseFile(format Format, data []byte, lenient bool) (travellers []Traveller, warnings int, err error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, 0, badInput(nil, "file is empty")
	}
	switch format {
	case FormatPAXLST:
		travellers, warnings, err = parsePAXLST(data, lenient)
	case FormatJSONL:
		travellers, warnings, err = parseJSON(data, lenient)
	default:
		return nil, 0, badInput(nil, "unknown format %q", format)
	}
	if err != nil {
		return nil, 0, err
	}
	if len(travellers) == 0 {
		return nil, 0, badInput(nil, "no traveller found in the file (%d problems skipped)", warnings)
	}
	return travellers, warnings, nil
}

func parsePAXLST(data []byte, lenient bool) ([]Traveller, int, error) {
	ic, err := paxlst.Parse(data)
	if errors.Is(err, paxlst.ErrNotEDIFACT) {
		return nil, 0, badInput([]string{err.Error()}, "not a PAXLST file: no UNB or UNH segment found")
	}
	if err != nil {
		return nil, 0, badInput(nil, "PAXLST: %v", err)
	}
	var details []string
	n := 0
	note := func(where string, w paxlst.Warning) {
		n++
		if len(details) < maxDetails {
			details = append(details, where+describeWarning(w))
		}
	}
	for _, w := range ic.Warnings {
		note("interchange: ", w)
	}
	for mi := range ic.Messages {
		for _, w := range ic.Messages[mi].Warnings {
			note(fmt.Sprintf("message %d: ", mi+1), w)
		}
	}
	var out []Traveller
	for _, t := range input.FromPAXLST(ic) {
		out = append(out, Traveller{Index: len(out) + 1, Traveller: t})
	}
	if n > len(details) {
		details = append(details, fmt.Sprintf("… and %d more", n-len(details)))
	}
	if n > 0 && !lenient {
		return nil, n, badInput(details, "PAXLST has %d problem(s); travellers may be missing, nothing was screened", n)
	}
	return out, n, nil
}

// describeWarning places a warning by segment position, byte offset and
// segment tag; the segment's text is left out (it may hold a name).
func describeWarning(w paxlst.Warning) string {
	if w.Position == 0 && w.Offset == 0 {
		return w.Message
	}
	tag := w.Segment
	if len(tag) > 3 {
		tag = tag[:3]
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			tag = "?"
			break
		}
	}
	if tag == "" {
		tag = "?"
	}
	return fmt.Sprintf("segment %d (%s, byte %d): %s", w.Position, tag, w.Offset, w.Message)
}

func parseJSON(data []byte, lenient bool) ([]Traveller, int, error) {
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		off := bytes.IndexByte(data, 0)
		if off < 0 || !utf8.Valid(data[:off]) {
			off = invalidUTF8At(data)
		}
		return nil, 0, badInput([]string{fmt.Sprintf("line %d, byte %d", lineAt(data, off), off)},
			"not a JSON text file: binary data (NUL or invalid UTF-8)")
	}
	var out []Traveller
	var details []string
	n := 0
	bad := func(line int, msg string) {
		n++
		if len(details) < maxDetails {
			details = append(details, fmt.Sprintf("line %d: %s", line, msg))
		}
	}
	add := func(line int, raw []byte) {
		q, err := decodeQuery(raw)
		if err != nil {
			bad(line, err.Error())
			return
		}
		out = append(out, Traveller{Index: len(out) + 1, Line: line, Traveller: input.Traveller{Query: q}})
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		// A JSON array of travellers.
		base := len(data) - len(trimmed)
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		if _, err := dec.Token(); err != nil {
			return nil, 0, badInput([]string{"line 1: " + jsonMsg(err)}, "JSON array unreadable")
		}
		for dec.More() {
			var raw json.RawMessage
			start := base + int(dec.InputOffset())
			if err := dec.Decode(&raw); err != nil {
				line := lineAt(data, base+int(dec.InputOffset()))
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, 0, badInput([]string{fmt.Sprintf("line %d: the file ends inside the array", line)}, "JSON array not closed")
				}
				return nil, 0, badInput([]string{fmt.Sprintf("line %d: %s", line, jsonMsg(err))}, "JSON array broken at line %d", line)
			}
			add(lineAt(data, start+len(leadingSpace(data[start:]))), raw)
		}
		if _, err := dec.Token(); err != nil {
			line := lineAt(data, base+int(dec.InputOffset()))
			return nil, 0, badInput([]string{fmt.Sprintf("line %d: %s", line, jsonMsg(err))}, "JSON array not closed")
		}
		if rest := bytes.TrimSpace(trimmed[dec.InputOffset():]); len(rest) > 0 {
			line := lineAt(data, base+int(dec.InputOffset()))
			return nil, 0, badInput([]string{fmt.Sprintf("line %d: data after the array", line)}, "JSON array followed by other data")
		}
	} else {
		line := 0
		for rest := data; len(rest) > 0; {
			line++
			var l []byte
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				l, rest = rest[:i], rest[i+1:]
			} else {
				l, rest = rest, nil
			}
			if line == 1 {
				l = bytes.TrimPrefix(l, []byte("\ufeff"))
			}
			if l = bytes.TrimSpace(l); len(l) > 0 {
				add(line, l)
			}
		}
	}
	if n > len(details) {
		details = append(details, fmt.Sprintf("… and %d more", n-len(details)))
	}
	if n > 0 && !lenient {
		return nil, n, badInput(details, "%d bad traveller line(s); nothing was screened", n)
	}
	return out, n, nil
}

// decodeQuery reads one traveller object the way every door does
// (input.DecodeQuery: unknown fields, trailing data, a traveller with
// nothing to screen and a bad field are errors).
func decodeQuery(raw []byte) (engine.Query, error) {
	q, _, err := input.DecodeQuery(raw)
	return q, err
}

func jsonMsg(err error) string { return strings.TrimPrefix(err.Error(), "json: ") }

func leadingSpace(b []byte) []byte {
	return b[:len(b)-len(bytes.TrimLeft(b, " \t\r\n,"))]
}

// lineAt returns the 1-based line of byte offset off.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}
