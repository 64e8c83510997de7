package protocol

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRecordAndAckRoundTrip(t *testing.T) {
	r := Record{ID: "01K0AAAAAAAAAAAAAAAAAAAAAA", Kind: RecordHit, Payload: []byte(`{"entry_id":"x"}`), CreatedAt: time.Date(2026, 7, 1, 10, 0, 0, 123456789, time.FixedZone("X", 3600))}
	b, err := EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"id":"%s","kind":"hit","created_at":"2026-07-01T09:00:00.123456789Z","payload":{"entry_id":"x"}}`, r.ID)
	if string(b) != want {
		t.Errorf("message = %s\nwant      %s", b, want)
	}
	got, err := DecodeRecord(b)
	if err != nil || got.ID != r.ID || got.Kind != RecordHit || !got.CreatedAt.Equal(r.CreatedAt) || string(got.Payload) != string(r.Payload) {
		t.Errorf("decoded %+v, %v", got, err)
	}
	a, _ := EncodeAck([]string{"a", "b"})
	if string(a) != `{"ids":["a","b"]}` {
		t.Errorf("ack = %s", a)
	}
	if ids, err := DecodeAck(a); err != nil || len(ids) != 2 || ids[0] != "a" || ids[1] != "b" {
		t.Errorf("DecodeAck(%s) = %v, %v", a, ids, err)
	}
	for _, bad := range []string{`{`, `{"ids":["bad id"]}`, `{"ids":[1]}`} {
		if _, err := DecodeAck([]byte(bad)); err == nil {
			t.Errorf("DecodeAck(%s) succeeded", bad)
		}
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	for _, bad := range []string{
		`not json`,
		`{"id":"R2","kind":"gossip","created_at":"2026-07-01T10:00:00Z","payload":{}}`,
		`{"id":"bad id!","kind":"hit","created_at":"2026-07-01T10:00:00Z","payload":{}}`,
		`{"id":"` + strings.Repeat("a", MaxRecordIDLen+1) + `","kind":"hit","created_at":"2026-07-01T10:00:00Z","payload":{}}`,
		`{"id":"R3","kind":"hit","created_at":"2026-07-01T10:00:00Z"}`,
	} {
		if r, err := DecodeRecord([]byte(bad)); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("DecodeRecord(%s) = %+v, %v; want ErrInvalidRecord", bad, r, err)
		}
	}
}

func TestRecordKinds(t *testing.T) {
	for k := RecordHit; k <= RecordAudit; k++ {
		got, err := ParseRecordKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseRecordKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if RecordKind(0).Valid() || RecordKind(6).Valid() {
		t.Error("kinds 0 and 6 are valid")
	}
	if _, err := ParseRecordKind("kind(6)"); err == nil {
		t.Error(`ParseRecordKind("kind(6)") succeeded`)
	}
}
