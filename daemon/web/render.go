package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Date and time layouts: dates are YYYY-MM-DD everywhere; times add the
// post's local hour and minute.
const (
	DateLayout     = "2006-01-02"
	DateTimeLayout = "2006-01-02 15:04"
)

// csp is every page's Content-Security-Policy: scripts, styles and images
// from this origin only, no inline script or style, no framing, forms
// posting only here.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setPageHeaders sets the headers of every page and error answer.
func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=(), payment=()")
}

// assets are the embedded files under /assets/<version>/, where version
// is a hash of all of them, so browsers may cache them for ever.
type assets struct {
	version string
	files   map[string][]byte
}

func loadAssets() (*assets, error) {
	a := &assets{files: map[string][]byte{}}
	h := sha256.New()
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		a.files[name] = b
		h.Write([]byte(name))
		h.Write(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load assets: %w", err)
	}
	a.version = hex.EncodeToString(h.Sum(nil))[:12]
	return a, nil
}

func (a *assets) url(name string) string { return "/assets/" + a.version + "/" + name }

func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/assets/")
	version, name, _ := strings.Cut(rest, "/")
	b, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if version == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	switch path.Ext(name) {
	case ".css":
		h.Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		h.Set("Content-Type", "text/javascript; charset=utf-8")
	case ".svg":
		h.Set("Content-Type", "image/svg+xml")
	default:
		h.Set("Content-Type", "application/octet-stream")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// templates are the pages parsed once per language, so that the t
// function of each set reads that language's catalog.
type templates struct {
	byLang map[string]map[string]*template.Template
}

// pageNames lists the page templates: every templates/*.html that is not
// the layout or the partials.
func pageNames() ([]string, error) {
	ents, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := strings.TrimSuffix(e.Name(), ".html")
		if n != "layout" && n != "partials" {
			out = append(out, n)
		}
	}
	return out, nil
}

func parseTemplates(cats Catalogs, as *assets) (*templates, error) {
	pages, err := pageNames()
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	ts := &templates{byLang: map[string]map[string]*template.Template{}}
	for lang, cat := range cats {
		funcs := templateFuncs(cat, as)
		base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		ts.byLang[lang] = map[string]*template.Template{}
		for _, p := range pages {
			t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+p+".html")
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", p, err)
			}
			ts.byLang[lang][p] = t
		}
	}
	return ts, nil
}

// templateFuncs are the functions every template may call.
func templateFuncs(cat *Catalog, as *assets) template.FuncMap {
	return template.FuncMap{
		// t returns a message of the page's language; a missing key fails
		// the page.
		"t": func(key string, args ...any) (template.HTML, error) { return tHTML(cat, key, args...) },
		// tc returns the message prefix+"."+code, or the code itself for a
		// code the catalog does not know (a value from a newer peer).
		"tc": func(prefix, code string) string {
			if m, err := cat.T(prefix + "." + code); err == nil {
				return m
			}
			return code
		},
		"tv":        func(key string, args []any) (template.HTML, error) { return tHTML(cat, key, args...) },
		"hasPrefix": strings.HasPrefix,
		"explain":   func(kind, phrase string) (template.HTML, error) { return explainHTML(cat, kind, phrase) },
		"asset":     as.url,
		"date":      func(t time.Time) template.HTML { return ltr(FormatDate(t)) },
		"ltr":       ltr,
		"datetime":  func(t time.Time) template.HTML { return ltr(FormatDateTime(t)) },
		"pct":       func(f float64) int { return int(math.Round(f * 100)) },
		"add":       func(a, b int) int { return a + b },
		"offset":    FormatOffset,
		// shortid shortens a key id (16 hex digits) for a table cell.
		"shortid": func(id string) string {
			if len(id) > 8 {
				return id[:8]
			}
			return id
		},
		"join": strings.Join,
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
	}
}

// tHTML returns a message as HTML: the catalog's text escaped, each
// argument (a name, a code, a number: data) escaped and isolated in a
// <bdi class="data">, so that a Latin name keeps its direction inside an
// Arabic sentence.
func tHTML(cat *Catalog, key string, args ...any) (template.HTML, error) {
	m, err := cat.T(key)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(m, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(m[i:], '}')
		if j < 0 {
			break
		}
		n, err := strconv.Atoi(m[i+1 : i+j])
		if err != nil || n < 1 || n > len(args) {
			b.WriteString(template.HTMLEscapeString(m[:i+j+1]))
			m = m[i+j+1:]
			continue
		}
		b.WriteString(template.HTMLEscapeString(m[:i]))
		b.WriteString(string(dataHTML(args[n-1])))
		m = m[i+j+1:]
	}
	b.WriteString(template.HTMLEscapeString(m))
	return template.HTML(b.String()), nil
}

// dataHTML isolates a value shown inside a sentence: <bdi class="data">,
// left to right when it has no letter of its own (a date, a number, a
// code with digits), so that "1973-05-27" does not turn into
// "27-05-1973" on an Arabic page. Markup made by the date functions is
// kept as it is.
func dataHTML(v any) template.HTML {
	if h, ok := v.(template.HTML); ok {
		return h
	}
	s := fmt.Sprint(v)
	dir := ""
	if !strings.ContainsFunc(s, unicode.IsLetter) {
		dir = ` dir="ltr"`
	}
	return template.HTML(`<bdi class="data"` + dir + `>` + template.HTMLEscapeString(s) + `</bdi>`)
}

// FormatDate formats t as YYYY-MM-DD in the local zone ("" for zero).
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(DateLayout)
}

// FormatDateTime formats t as YYYY-MM-DD HH:MM in the local zone ("" for
// zero).
func FormatDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(DateTimeLayout)
}

// ltr shows s (a date, a time) left to right in any page.
func ltr(s string) template.HTML {
	if s == "" {
		return ""
	}
	return template.HTML(`<bdi class="data" dir="ltr">` + template.HTMLEscapeString(s) + `</bdi>`)
}

// render executes page in lang into a buffer, so that a failing template
// (a missing key) sends nothing but the error.
func (ts *templates) render(lang, page string, data any) ([]byte, error) {
	set := ts.byLang[lang]
	t := set[page]
	if t == nil {
		return nil, fmt.Errorf("no page template %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, fmt.Errorf("render %s (%s): %w", page, lang, err)
	}
	return buf.Bytes(), nil
}
