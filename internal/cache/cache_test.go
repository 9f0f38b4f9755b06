package cache

import (
	"testing"
	"time"
)

func TestTTL(t *testing.T) {
	c := New[string, int](5 * time.Second)
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	c.Put("a", 1, t0)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"just stored", t0, true},
		{"within the time to live", t0.Add(4999 * time.Millisecond), true},
		{"expired", t0.Add(5 * time.Second), false},
		{"clock went backwards", t0.Add(-time.Second), false},
	} {
		if v, ok := c.Get("a", tc.at); ok != tc.ok || (ok && v != 1) {
			t.Errorf("%s: Get = %d, %v; want ok=%v", tc.name, v, ok, tc.ok)
		}
	}
	c.Update("a", func(v int) int { return v + 1 })
	if v, _ := c.Get("a", t0); v != 2 {
		t.Errorf("after Update: %d, want 2", v)
	}
	c.Update("missing", func(int) int { return 7 })
	if _, ok := c.Get("missing", t0); ok {
		t.Error("Update stored a missing key")
	}
	c.Put("b", 3, t0)
	c.DeleteFunc(func(k string, v int) bool { return v == 3 })
	if _, ok := c.Get("b", t0); ok {
		t.Error("DeleteFunc kept b")
	}
	c.Delete("a")
	if _, ok := c.Get("a", t0); ok {
		t.Error("Delete kept a")
	}
}

func TestTTLBounded(t *testing.T) {
	c := New[int, int](time.Second)
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for i := range maxEntries {
		c.Put(i, i, t0)
	}
	c.Put(-1, -1, t0.Add(time.Hour)) // everything before has expired
	if n := len(c.m); n != 1 {
		t.Errorf("%d entries after a Put past the bound, want the expired ones dropped", n)
	}
}
