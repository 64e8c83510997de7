package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
)

//go:embed catalog/*.json
var catalogFS embed.FS

// Languages are the consoles' languages, the six official languages of
// the United Nations; English is the fallback.
var Languages = []string{"en", "ar", "zh", "fr", "ru", "es"}

// rtl are the languages written right to left.
var rtl = map[string]bool{"ar": true}

// Autonyms are each language's name in itself, for the language menu.
var Autonyms = map[string]string{
	"ar": "العربية", "en": "English", "es": "Español", "fr": "Français", "ru": "Русский", "zh": "中文",
}

var matcher = language.NewMatcher(func() []language.Tag {
	tags := make([]language.Tag, len(Languages))
	for i, l := range Languages {
		tags[i] = language.MustParse(l)
	}
	return tags
}())

// Negotiate returns the language to use: the first of choices that is one
// of Languages, else the best match of the Accept-Language header, else
// English.
func Negotiate(acceptLanguage string, choices ...string) string {
	for _, c := range choices {
		if slices.Contains(Languages, c) {
			return c
		}
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Languages[0]
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Languages[0]
	}
	return Languages[i]
}

// Catalog is one language's messages: key → text, where {1}, {2}, … are
// replaced by the arguments.
type Catalog struct {
	Lang string
	msgs map[string]string
}

// MissingKeyError is returned when a page asks for a message its
// catalog lacks.
type MissingKeyError struct{ Lang, Key string }

func (e *MissingKeyError) Error() string {
	return fmt.Sprintf("message catalog %s has no key %q", e.Lang, e.Key)
}

// T returns the message key with its arguments, or a *MissingKeyError.
func (c *Catalog) T(key string, args ...any) (string, error) {
	m, ok := c.msgs[key]
	if !ok {
		return "", &MissingKeyError{Lang: c.Lang, Key: key}
	}
	if len(args) == 0 {
		return m, nil
	}
	pairs := make([]string, 0, 2*len(args))
	for i, a := range args {
		pairs = append(pairs, "{"+strconv.Itoa(i+1)+"}", fmt.Sprint(a))
	}
	return strings.NewReplacer(pairs...).Replace(m), nil
}

// Has reports whether the catalog has key.
func (c *Catalog) Has(key string) bool { _, ok := c.msgs[key]; return ok }

// Keys returns the catalog's keys, sorted.
func (c *Catalog) Keys() []string {
	ks := make([]string, 0, len(c.msgs))
	for k := range c.msgs {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Catalogs are the embedded catalogs by language.
type Catalogs map[string]*Catalog

// LoadCatalogs reads the embedded catalogs; every language of Languages
// must have one.
func LoadCatalogs() (Catalogs, error) { return loadCatalogs(catalogFS, "catalog") }

func loadCatalogs(fsys fs.FS, dir string) (Catalogs, error) {
	out := Catalogs{}
	for _, l := range Languages {
		b, err := fs.ReadFile(fsys, path.Join(dir, l+".json"))
		if err != nil {
			return nil, fmt.Errorf("message catalog %s: %w", l, err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			return nil, fmt.Errorf("message catalog %s: %w", l, err)
		}
		out[l] = &Catalog{Lang: l, msgs: msgs}
	}
	return out, nil
}
