package database

import "testing"

func TestCommitNow(t *testing.T) {
	for _, c := range []struct {
		members, waiting int
		want             bool
	}{
		{1, 0, true},          // nobody to wait for
		{1, 1, true},          // as many in the group as waiting: they start the next
		{1, 5, false},         // a burst arrives: take them in
		{4, 5, false},         //
		{5, 5, true},          // half of the callers: commit, the others write meanwhile
		{maxGroup, 100, true}, // full
	} {
		if got := commitNow(c.members, c.waiting); got != c.want {
			t.Errorf("commitNow(%d members, %d waiting) = %v, want %v", c.members, c.waiting, got, c.want)
		}
	}
}
