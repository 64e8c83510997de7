package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/watchpost/watchpost/engine"
)

// JSONError is a JSON value DecodeJSON refused, with the field at fault.
type JSONError struct {
	// Field is the JSON path of the field at fault ("name", "flights.0"),
	// or "" when the value as a whole is wrong.
	Field string
	// Msg says what is wrong, starting with the subject given to DecodeJSON
	// or with the field.
	Msg string
}

func (e *JSONError) Error() string { return e.Msg }

// NewEncoder returns a JSON encoder writing to w that leaves <, > and &
// as they are, for every output an officer reads (API answers, `watchpost
// screen` and `watchpost parse`): an MRZ's fillers are "<", and "\u003c"
// in their place is unreadable.
func NewEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// DecodeJSON decodes exactly one JSON value from b into v, strictly:
// unknown fields, trailing data and wrong types are errors. The error is a
// *JSONError whose message starts with subject ("body", "traveller") when
// the value as a whole is wrong, or names the field.
//
// Text that is not valid UTF-8 is an error naming the field that holds
// it, where encoding/json would turn it into U+FFFD silently.
func DecodeJSON(b []byte, v any, subject string) error {
	if !utf8.Valid(b) {
		if field := invalidUTF8Field(b); field != "" {
			return &JSONError{Field: field, Msg: fmt.Sprintf("field %q is not valid UTF-8", field)}
		}
		return &JSONError{Msg: fmt.Sprintf("%s is not valid UTF-8 (at byte %d)", subject, invalidUTF8At(b))}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, subject)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &JSONError{Msg: subject + " holds more than one JSON value"}
	}
	return nil
}

// DecodeQuery decodes one traveller, a JSON object of engine.Query's
// fields, with DecodeJSON, and checks it with CheckQuery: the warnings
// are CheckQuery's.
func DecodeQuery(b []byte) (engine.Query, []string, error) {
	var q engine.Query
	if err := DecodeJSON(b, &q, "traveller"); err != nil {
		return q, nil, err
	}
	warnings, err := CheckQuery(&q)
	return q, warnings, err
}

// invalidUTF8At returns the offset of the first byte of b that is not
// valid UTF-8 (len(b) when there is none).
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// invalidUTF8Field returns the JSON path ("name", "flights.0") of the
// first string of b that is not valid UTF-8, or "" when there is none or
// b is not valid JSON up to it.
func invalidUTF8Field(b []byte) string {
	type frame struct {
		object  bool
		wantKey bool
		key     string
		index   int
	}
	var stack []frame
	path := func() string {
		parts := make([]string, len(stack))
		for i, f := range stack {
			if f.object {
				parts[i] = f.key
			} else {
				parts[i] = strconv.Itoa(f.index)
			}
		}
		return strings.Join(parts, ".")
	}
	// next marks the value at the top of the stack as read.
	next := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		raw := b[start:dec.InputOffset()]
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				next()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				stack[n-1].key, stack[n-1].wantKey = t, false
				if !utf8.Valid(raw) {
					return path()
				}
				continue
			}
			if !utf8.Valid(raw) {
				if len(stack) == 0 {
					return ""
				}
				return path()
			}
			next()
		default:
			next()
		}
	}
}

func jsonError(err error, subject string) *JSONError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	msg := err.Error()
	switch {
	case errors.As(err, &se):
		return &JSONError{Msg: fmt.Sprintf("%s is not valid JSON: %s (at byte %d)", subject, strings.TrimPrefix(msg, "json: "), se.Offset)}
	case errors.As(err, &te):
		field := jsonField(te.Field)
		if field == "" {
			return &JSONError{Msg: fmt.Sprintf("%s must be a JSON %s, not %s", subject, jsonKind(te.Type.Kind().String()), te.Value)}
		}
		return &JSONError{Field: field, Msg: fmt.Sprintf("field %q must be a JSON %s, not %s", field, jsonKind(te.Type.Kind().String()), te.Value)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &JSONError{Msg: subject + " is not a complete JSON object"}
	}
	if _, rest, ok := strings.Cut(msg, "unknown field "); ok {
		field := strings.Trim(rest, `"`)
		return &JSONError{Field: field, Msg: fmt.Sprintf("unknown field %q", field)}
	}
	return &JSONError{Msg: subject + ": " + strings.TrimPrefix(msg, "json: ")}
}

// jsonField drops the Go names of embedded structs ("Query.name" → "name")
// from a field path, leaving the JSON names.
func jsonField(path string) string {
	var parts []string
	for p := range strings.SplitSeq(path, ".") {
		if p != "" && (p[0] < 'A' || p[0] > 'Z') {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

func jsonKind(k string) string {
	switch k {
	case "bool":
		return "boolean"
	case "string":
		return "string"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return "number"
}
