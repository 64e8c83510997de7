package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Source says where a value came from. The zero Source is a default.
type Source struct {
	// File and Line: the configuration file and the key's line, or (for a
	// secret) the file it was read from, Line 0.
	File string
	Line int
	// Env: the environment variable.
	Env string
}

// IsDefault reports whether the value is a default.
func (s Source) IsDefault() bool { return s == Source{} }

// String returns "default", "env WATCHPOST_X", "FILE:LINE" or "file FILE".
func (s Source) String() string {
	switch {
	case s.Env != "":
		return "env " + s.Env
	case s.File != "" && s.Line > 0:
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	case s.File != "":
		return "file " + s.File
	}
	return "default"
}

// File returns the configuration file read ("" for none).
func (c *Config) File() string { return c.file }

// Source returns where key's value came from (zero for a default).
func (c *Config) Source(key string) Source { return c.where[key] }

// Setting is one effective value, for `watchpost config show`.
type Setting struct {
	Key    string
	Env    string
	Value  string // secrets redacted
	Source Source
}

// Settings returns every key's effective value and source, in file
// order. Secrets are shown as "[redacted]", never their value.
func (c *Config) Settings() []Setting {
	var out []Setting
	root := reflect.ValueOf(c).Elem()
	byPath := schema().byPath
	for _, k := range Keys() {
		s := Setting{Key: k.Name, Env: k.Env, Source: c.where[k.Name]}
		switch k.Name {
		case "store.encryption_key":
			s.Value = "(none: the store is not encrypted)"
			if c.Store.EncryptionKey.IsSet() {
				s.Value = c.Store.EncryptionKey.String() + " (AES-256)"
			}
		case "hq.password":
			s.Value = "(none)"
			if c.HQ.Password.IsSet() {
				s.Value = c.HQ.Password.String()
			}
		case "api.tokens":
			s.Value = "(none)"
			if n := len(c.API.Tokens); n > 0 {
				s.Value = fmt.Sprintf("%d tokens %s: %s", n, redacted, strings.Join(c.API.TokenNames, ", "))
			}
		default:
			s.Value = formatValue(root.FieldByIndex(byPath[k.Name].index))
		}
		out = append(out, s)
	}
	return out
}

func formatValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case string:
		if x == "" {
			return `""`
		}
		return x
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v.Interface())
}
