package config

import (
	"encoding"
	"reflect"
	"strings"
	"sync"
)

// EnvPrefix starts every environment variable that sets a key.
const EnvPrefix = "WATCHPOST_"

// Environment variables for the secrets, which have no YAML key of their
// own: they replace what HQ.PasswordFile, API.TokensFile and
// Store.EncryptionKeyFile name. Each is named after its key (EnvName).
const (
	EnvHQPassword         = EnvPrefix + "HQ_PASSWORD"
	EnvAPITokens          = EnvPrefix + "API_TOKENS"
	EnvStoreEncryptionKey = EnvPrefix + "STORE_ENCRYPTION_KEY"
)

// EnvName returns the variable that overrides key: WATCHPOST_ followed by
// the key path in upper case with dots as underscores ("hq.brokers" is
// WATCHPOST_HQ_BROKERS).
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Key describes one configuration key.
type Key struct {
	// Name is the dotted path ("hq.brokers").
	Name string
	// Env is the variable that overrides it.
	Env string
	// List keys take a YAML sequence, or a comma-separated variable.
	List bool
	// Secret keys (hq.password, api.tokens, store.encryption_key) have no YAML key: they come
	// from the file another key names, or from Env.
	Secret bool
}

// Keys returns every key in file order, the secrets included.
func Keys() []Key {
	var ks []Key
	for _, f := range schema().leaves {
		ks = append(ks, Key{Name: f.path, Env: f.env, List: f.kind == kindList})
		switch f.path {
		case "store.encryption_key_file":
			ks = append(ks, Key{Name: "store.encryption_key", Env: EnvStoreEncryptionKey, Secret: true})
		case "hq.password_file":
			ks = append(ks, Key{Name: "hq.password", Env: EnvHQPassword, Secret: true})
		case "api.tokens_file":
			ks = append(ks, Key{Name: "api.tokens", Env: EnvAPITokens, List: true, Secret: true})
		}
	}
	return ks
}

type kind int

const (
	kindString kind = iota
	kindList
	kindFloat
	kindText // Duration, Size: encoding.TextUnmarshaler
)

// field is one node of the key tree: a section (children) or a leaf.
type field struct {
	name     string
	path     string
	env      string
	index    []int
	kind     kind
	children []*field
}

func (f *field) child(name string) *field {
	for _, c := range f.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

type schemaTree struct {
	root   *field
	leaves []*field
	byPath map[string]*field
}

var (
	schemaOnce sync.Once
	schemaVal  *schemaTree
)

// schema builds the key tree from Config's yaml tags, once.
func schema() *schemaTree {
	schemaOnce.Do(func() {
		s := &schemaTree{root: &field{}, byPath: map[string]*field{}}
		s.build(s.root, reflect.TypeFor[Config](), nil)
		schemaVal = s
	})
	return schemaVal
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func (s *schemaTree) build(parent *field, t reflect.Type, index []int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || tag == "-" || tag == "" {
			continue
		}
		f := &field{name: tag, path: tag, index: append(append([]int(nil), index...), i)}
		if parent.path != "" {
			f.path = parent.path + "." + tag
		}
		f.env = EnvName(f.path)
		parent.children = append(parent.children, f)
		s.byPath[f.path] = f
		switch {
		case reflect.PointerTo(sf.Type).Implements(textUnmarshaler):
			f.kind = kindText
		case sf.Type.Kind() == reflect.Struct:
			s.build(f, sf.Type, f.index)
			continue
		case sf.Type.Kind() == reflect.String:
			f.kind = kindString
		case sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.String:
			f.kind = kindList
		case sf.Type.Kind() == reflect.Float64:
			f.kind = kindFloat
		default:
			panic("config: no decoder for " + f.path + " of type " + sf.Type.String())
		}
		s.leaves = append(s.leaves, f)
	}
}
