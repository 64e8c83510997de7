package badgerstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

const (
	schemaKey      = "m/schema"
	listMetaPrefix = "m/list/"
	dirtyPrefix    = "m/dirty/"
	rowsPrefix     = "v/"
	indexPrefix    = "x/"

	maxNameLen = 32
)

// tombstone is the value of a row that hides older versions of its group.
// Record encodings start with their codec version (>= 1), never 0.
var tombstone = []byte{0}

func isTombstone(v []byte) bool { return len(v) == 1 && v[0] == 0 }

// validName reports whether name is a usable list name: [a-z0-9_-]{1,32}.
func validName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("list name %q: want 1 to %d characters", name, maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("list name %q: only a-z, 0-9, '_' and '-' are allowed", name)
		}
	}
	return nil
}

func metaKey(name string) []byte  { return []byte(listMetaPrefix + name) }
func dirtyKey(name string) []byte { return []byte(dirtyPrefix + name) }

// listRows is the prefix of every row of a list, of either kind.
func listRows(name string) []byte { return []byte(rowsPrefix + name + "/") }

func entryRows(name string) []byte { return []byte(rowsPrefix + name + "/e/") }
func docRows(name string) []byte   { return []byte(rowsPrefix + name + "/d/") }

// indexRows is the prefix of the document-key index rows of a list.
func indexRows(name string) []byte { return []byte(indexPrefix + name + "/") }

// indexKeyAppend appends the index row key of a document key:
// x/<name>/<DocumentKey>, with no version (see the package doc).
func indexKeyAppend(k []byte, name string, docKey []byte) []byte {
	k = append(k, indexPrefix...)
	k = append(k, name...)
	k = append(k, '/')
	return append(k, docKey...)
}

// groupDocKey returns the document key of a documents row group under
// docRows prefix, or false if the group does not have one.
func groupDocKey(prefix, group []byte) ([]byte, bool) {
	if !bytes.HasPrefix(group, prefix) {
		return nil, false
	}
	rest := group[len(prefix):]
	i := bytes.IndexByte(rest, 0)
	if i <= 0 {
		return nil, false
	}
	return rest[:i], true
}

// entryGroup is the identity part of an entry row key.
func entryGroup(name, id string) []byte {
	k := make([]byte, 0, len(rowsPrefix)+len(name)+4+len(id)+1+8)
	k = append(k, rowsPrefix...)
	k = append(k, name...)
	k = append(k, "/e/"...)
	k = append(k, id...)
	return append(k, 0)
}

// docGroupAppend appends the identity part of a document row key.
func docGroupAppend(k []byte, name, docKey, country, typ string) []byte {
	k = append(k, rowsPrefix...)
	k = append(k, name...)
	k = append(k, "/d/"...)
	k = append(k, docKey...)
	k = append(k, 0)
	k = append(k, country...)
	k = append(k, 0)
	k = append(k, typ...)
	return append(k, 0)
}

// normCountry is the form of an issuing state used in keys and lookups.
func normCountry(c string) string { return strings.ToUpper(strings.TrimSpace(c)) }

// appendVersion appends the inverted big-endian version to a group.
func appendVersion(group []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(group, ^v)
}

// splitRowKey splits a row key into its group (ending in \x00) and version.
func splitRowKey(k []byte) (group []byte, v uint64, ok bool) {
	if len(k) < 9 || k[len(k)-9] != 0 {
		return nil, 0, false
	}
	return k[:len(k)-8], ^binary.BigEndian.Uint64(k[len(k)-8:]), true
}

// noNUL rejects strings that would break the key layout.
func noNUL(what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s %q contains a NUL byte", what, s)
	}
	return nil
}
