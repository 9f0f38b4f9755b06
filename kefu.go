// Package kefu holds the vocabulary every part of Kefu shares: errors with
// machine-readable codes and field messages, the acting user carried in a
// context, identifiers and paging. It depends on the standard library only.
package kefu

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// NewID returns a UUIDv7 string. Version 7 ids sort by creation time, which
// keeps B-tree inserts append-mostly on both engines and makes id order a
// usable tie-breaker for cursor paging.
func NewID() string {
	return newIDAt(time.Now())
}

var idMu sync.Mutex
var idLast [16]byte

// newIDAt builds a UUIDv7 for t. Ids made in the same millisecond get a
// monotonically increasing random tail, so ids from one process sort in the
// order they were made.
func newIDAt(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	idMu.Lock()
	if string(b[:6]) <= string(idLast[:6]) {
		// Same (or earlier, after a clock step) millisecond: continue from
		// the last id so the order holds.
		b = idLast
		tail := binary.BigEndian.Uint64(b[8:]) & 0x3fffffffffffffff
		tail++
		binary.BigEndian.PutUint64(b[8:], tail)
		if tail&0x3fffffffffffffff == 0 {
			seq := binary.BigEndian.Uint16(b[6:]) + 1
			binary.BigEndian.PutUint16(b[6:], seq)
		}
	}
	b[6] = b[6]&0x0f | 0x70 // version 7
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	idLast = b
	idMu.Unlock()
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ValidID reports whether s has the form of an id (a UUID in canonical
// text form). Stores check it before querying, so a malformed id is a
// plain "not found" on both engines instead of a PostgreSQL type error.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}
