package calendar

import (
	"math"
	"time"
)

// Never is what Add returns when the budget can never be spent: only a
// calendar without weekly hours, whose open overrides all lie before the
// deadline, runs out of open time. It sorts after every real deadline, so
// a sweep for due tickets never fires for it. Do not modify it.
var Never = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// chunk is one civil year of a calendar in its zone, as instants: the open
// intervals in order, merged where one ends as the next begins, and a prefix
// sum of open seconds. With it Between is two binary searches and Add one
// more. Interval bounds are whole Unix seconds because wall times are whole
// minutes and zone offsets whole seconds; only the instants passed in carry
// nanoseconds.
type chunk struct {
	start, end    int64 // local midnight of Jan 1 and of the next Jan 1
	opens, closes []int64
	cum           []int64 // cum[i]: open seconds before interval i; len(opens)+1
}

const second = int64(time.Second)

func yearStart(y int, loc *time.Location) int64 {
	return time.Date(y, time.January, 1, 0, 0, 0, 0, loc).Unix()
}

// build computes year y from the rules.
func (c *Calendar) build(y int) *chunk {
	k := &chunk{start: yearStart(y, c.loc), end: yearStart(y+1, c.loc), cum: []int64{0}}
	if c.closedYear(y) {
		return k
	}
	wd := time.Date(y, time.January, 1, 12, 0, 0, 0, time.UTC).Weekday()
	for i := 0; ; i++ {
		dy, dm, dd := time.Date(y, time.January, 1+i, 12, 0, 0, 0, time.UTC).Date()
		if dy != y {
			break
		}
		for _, iv := range c.hours(Date{dy, dm, dd}, wd) {
			// time.Date normalises 24:00 to the next midnight and resolves
			// wall times in a gap or an overlap by the zone's rules.
			s := time.Date(y, time.January, 1+i, 0, int(iv.Start), 0, 0, c.loc).Unix()
			e := time.Date(y, time.January, 1+i, 0, int(iv.End), 0, 0, c.loc).Unix()
			k.push(s, e)
		}
		wd = (wd + 1) % 7
	}
	return k
}

// push appends [s, e), clipped so that intervals stay inside the year,
// ordered and disjoint even where a zone transition makes wall times of
// neighbouring intervals map to the same instants.
func (k *chunk) push(s, e int64) {
	s, e = max(s, k.start), min(e, k.end)
	n := len(k.opens)
	if n > 0 {
		s = max(s, k.closes[n-1])
	}
	if e <= s {
		return
	}
	if n > 0 && k.closes[n-1] == s {
		k.closes[n-1] = e
		k.cum[n] += e - s
		return
	}
	k.opens = append(k.opens, s)
	k.closes = append(k.closes, e)
	k.cum = append(k.cum, k.cum[n]+e-s)
}

// total returns the open time of the year in nanoseconds.
func (k *chunk) total() int64 { return k.cum[len(k.opens)] * second }

// find returns the last interval that opens at or before sec, or -1.
func (k *chunk) find(sec int64) int {
	lo, hi := 0, len(k.opens)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k.opens[m] <= sec {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// odo returns the open time from the start of the year to the instant
// (sec, nsec), in nanoseconds.
func (k *chunk) odo(sec, nsec int64) int64 {
	i := k.find(sec)
	if i < 0 {
		return 0
	}
	if sec >= k.closes[i] {
		return k.cum[i+1] * second
	}
	return (k.cum[i]+sec-k.opens[i])*second + nsec
}

// at returns the earliest instant whose odometer reads b, for
// 0 < b <= total. Being the earliest is what makes a budget that runs out
// at a closing time end there rather than at the next opening.
func (k *chunk) at(b int64) (sec, nsec int64) {
	lo, hi := 0, len(k.opens)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k.cum[m+1]*second < b {
			lo = m + 1
		} else {
			hi = m
		}
	}
	off := b - k.cum[lo]*second
	return k.opens[lo] + off/second, off % second
}

// chunkAt returns the year containing the instant sec and its chunk.
func (c *Calendar) chunkAt(sec int64) (int, *chunk) {
	if n := len(c.main); sec >= c.starts[0] && sec < c.starts[n] {
		lo, hi := 0, n
		for hi-lo > 1 {
			m := int(uint(lo+hi) >> 1)
			if c.starts[m] <= sec {
				lo = m
			} else {
				hi = m
			}
		}
		return c.y0 + lo, c.main[lo]
	}
	y := time.Unix(sec, 0).In(c.loc).Year()
	for sec < yearStart(y, c.loc) {
		y--
	}
	for sec >= yearStart(y+1, c.loc) {
		y++
	}
	return y, c.chunk(y)
}

// exhausted reports whether a forward search that reached year y, having
// seen emptyRun years without open time in a row, can stop: nothing after
// lastYear differs from the weekly hours, so a run of empty years there
// means the calendar has no open time left. With weekly hours that never
// happens; the run length only guards against a zone that would swallow
// every interval.
func (c *Calendar) exhausted(y, emptyRun int) bool {
	return y > c.lastYear && (c.weeklyEmpty || emptyRun > 8)
}

func split(t time.Time) (sec, nsec int64) { return t.Unix(), int64(t.Nanosecond()) }

// IsOpen reports whether t lies in an open interval. A closing instant is
// not open.
func (c *Calendar) IsOpen(t time.Time) bool {
	sec, _ := split(t)
	_, k := c.chunkAt(sec)
	i := k.find(sec)
	return i >= 0 && sec < k.closes[i]
}

// NextOpen returns t if it lies in an open interval, else the next opening
// after t. It reports false if the calendar has no open time after t, which
// only happens to a calendar without weekly hours.
func (c *Calendar) NextOpen(t time.Time) (time.Time, bool) {
	sec, _ := split(t)
	y, k := c.chunkAt(sec)
	i := k.find(sec)
	if i >= 0 && sec < k.closes[i] {
		return t.In(c.loc), true
	}
	if i+1 < len(k.opens) {
		return time.Unix(k.opens[i+1], 0).In(c.loc), true
	}
	for run := 0; ; run++ {
		y++
		if c.exhausted(y, run) {
			return time.Time{}, false
		}
		if c.closedYear(y) {
			continue
		}
		if k := c.chunk(y); len(k.opens) > 0 {
			return time.Unix(k.opens[0], 0).In(c.loc), true
		}
	}
}

// Add returns the instant at which d of business time, counted from start,
// has elapsed. If start is outside working hours the count begins at the
// next opening; if the budget runs out exactly at a closing time, that
// closing instant is returned. Add(t, 0) is t when t is inside an open
// interval or exactly at its close, otherwise the next opening; d < 0 is
// treated as 0. If the calendar has too little open time left, Add returns
// Never.
func (c *Calendar) Add(start time.Time, d time.Duration) time.Time {
	sec, nsec := split(start)
	y, k := c.chunkAt(sec)
	if d <= 0 {
		return c.add0(start, y, k)
	}
	rem := int64(d)
	b := k.odo(sec, nsec)
	for run := 0; ; {
		avail := k.total() - b
		if rem <= avail {
			s, ns := k.at(b + rem)
			return time.Unix(s, ns).In(c.loc)
		}
		rem -= avail
		if len(k.opens) == 0 {
			run++
		} else {
			run = 0
		}
		y++
		if c.exhausted(y, run) {
			return Never
		}
		b = 0
		if c.closedYear(y) {
			k = &chunk{cum: []int64{0}}
			continue
		}
		k = c.chunk(y)
	}
}

func (c *Calendar) add0(t time.Time, y int, k *chunk) time.Time {
	sec, nsec := split(t)
	i := k.find(sec)
	atClose := nsec == 0 && (i >= 0 && sec == k.closes[i] ||
		// The interval closing at a year boundary belongs to the year before.
		sec == k.start && c.closesAt(y-1, sec))
	if i >= 0 && sec < k.closes[i] || atClose {
		return t.In(c.loc)
	}
	if next, ok := c.NextOpen(t); ok {
		return next
	}
	return Never
}

func (c *Calendar) closesAt(y int, sec int64) bool {
	if c.closedYear(y) {
		return false
	}
	k := c.chunk(y)
	n := len(k.closes)
	return n > 0 && k.closes[n-1] == sec
}

// Between returns the business time from from to to. It is antisymmetric:
// when to is before from the result is -Between(to, from). Results beyond
// the range of time.Duration (about 292 years of open time) saturate.
func (c *Calendar) Between(from, to time.Time) time.Duration {
	if to.Before(from) {
		return -c.Between(to, from)
	}
	fs, fn := split(from)
	ts, tn := split(to)
	ya, ka := c.chunkAt(fs)
	yb, kb := c.chunkAt(ts)
	if ya == yb {
		return time.Duration(kb.odo(ts, tn) - ka.odo(fs, fn))
	}
	ns := ka.total() - ka.odo(fs, fn) + kb.odo(ts, tn)
	var secs int64
	for y := ya + 1; y < yb; y++ {
		if !c.closedYear(y) {
			k := c.chunk(y)
			secs += k.cum[len(k.opens)]
		}
	}
	if secs > (math.MaxInt64-ns)/second {
		return math.MaxInt64
	}
	return time.Duration(secs*second + ns)
}
