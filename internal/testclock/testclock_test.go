package testclock

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	still := New(t0, 0)
	if a, b := still.Now(), still.Now(); !a.Equal(t0) || !b.Equal(t0) {
		t.Errorf("a clock without a step moved: %v, %v", a, b)
	}
	still.Advance(time.Hour)
	if got := still.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("after Advance: %v", got)
	}
	ticking := New(t0, time.Millisecond)
	if a, b := ticking.Now(), ticking.Now(); !b.Equal(a.Add(time.Millisecond)) {
		t.Errorf("two readings %v and %v, want a step apart", a, b)
	}
	shanghai := time.FixedZone("CST", 8*3600)
	still.Set(time.Date(2026, 5, 1, 10, 0, 0, 123456789, shanghai))
	if got, want := still.Now(), time.Date(2026, 5, 1, 2, 0, 0, 123456000, time.UTC); got != want {
		t.Errorf("after Set: %v, want %v", got, want)
	}
}
