// Package calendar computes business time: when a shop is open, how much
// open time lies between two instants, and when a budget of open time that
// starts at some instant runs out. Every SLA deadline in Kefu goes through it.
//
// A Calendar has an IANA time zone, weekly hours (any number of intervals per
// weekday), date overrides and optionally included statutory calendars. The
// hours of a date are, in order of precedence:
//
//  1. the calendar's own override for that date (no intervals = closed);
//  2. an included statutory calendar ("cn-statutory"): a holiday is closed, an
//     adjusted working day (调休, usually a weekend day) is open with the
//     normal working-day hours: the hours of Monday, or if Monday has none
//     the first weekday from Tuesday to Friday that has hours;
//  3. the weekly hours of its weekday.
//
// Open intervals are wall-clock times of the date in the calendar's zone,
// turned into instants with the zone rules; business time is real elapsed
// time inside those instants. So across a DST change a 24/7 calendar counts
// 23 or 25 hours for the day, and an interval whose wall time falls in a gap
// shrinks to what really exists.
//
// Conventions of the arithmetic (see docs/calendar.md):
//   - A clock that starts outside working hours starts at the next opening.
//   - A budget that runs out exactly at a closing time ends at that closing
//     instant, not at the next opening.
//   - Add(t, 0) is t when t is inside an open interval or exactly at its
//     close, otherwise the next opening. Negative durations count as 0.
//   - Between is antisymmetric: Between(a, b) == -Between(b, a).
//   - Instants keep full nanosecond precision; nothing is rounded.
//
// A Calendar is immutable after New or Parse and safe for concurrent use.
// The package never reads the clock: instants are always passed in.
package calendar

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is a wall-clock time of day in minutes after midnight. 1440 is
// "24:00", which is only valid as the end of an interval.
type Clock int

// EndOfDay is "24:00".
const EndOfDay Clock = 24 * 60

// ParseClock parses "HH:MM" (two digits each, "24:00" allowed).
func ParseClock(s string) (Clock, error) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, fmt.Errorf("%q is not a time (HH:MM)", s)
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return Clock(h*60 + m), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Interval is an open period of one day, from Start (inclusive) to End
// (exclusive) wall-clock time.
type Interval struct {
	Start, End Clock
}

func (iv Interval) String() string { return iv.Start.String() + "-" + iv.End.String() }

// Date is a civil date, independent of any zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses "YYYY-MM-DD" and rejects dates that do not exist.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' || !isDigits(s[:4]) || !isDigits(s[5:7]) || !isDigits(s[8:]) {
		return Date{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date", s)
	}
	return DateOf(t), nil
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.noon().Weekday() }

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.noon().Before(e.noon()) }

func (d Date) noon() time.Time { return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC) }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Calendar is a validated business calendar. Build one with New or Parse.
type Calendar struct {
	name      string
	loc       *time.Location
	weekly    [7][]Interval // by time.Weekday
	overrides map[Date][]Interval
	include   []string
	statutory map[Date]bool // merged included calendars; true = day off
	workday   []Interval    // hours of an adjusted working day

	// lastYear is the last year with overrides or statutory dates; after it
	// only the weekly hours apply.
	lastYear int
	// With no weekly hours, open time exists only in the years of open
	// overrides; searches skip the others without building them.
	weeklyEmpty bool
	openYears   map[int]bool

	// Years y0..y0+len(main)-1 are precomputed; starts[i] is the instant
	// main[i] begins and starts[len(main)] the end of the last one.
	y0     int
	main   []*chunk
	starts []int64
	others *chunkCache
}

// The precomputed range: the years a help desk deployed now works in, plus
// the years of any overrides within reason. Other years are computed on
// demand (correct, slower) and kept in a small cache.
const (
	tableFrom, tableTo = 2024, 2028
	tableMin, tableMax = 2000, 2099
)

func newCalendar(name string, loc *time.Location, weekly [7][]Interval, overrides map[Date][]Interval, include []string) *Calendar {
	c := &Calendar{
		name:      name,
		loc:       loc,
		weekly:    weekly,
		overrides: overrides,
		include:   include,
		statutory: map[Date]bool{},
		lastYear:  tableTo,
		others:    &chunkCache{},
	}
	for _, inc := range include {
		for d, off := range includes[inc]() {
			if _, dup := c.statutory[d]; !dup || off {
				// A date off in one included calendar is off.
				c.statutory[d] = off
			}
			c.lastYear = max(c.lastYear, d.Year)
		}
	}
	c.workday = weekly[time.Monday]
	for wd := time.Monday; len(c.workday) == 0 && wd <= time.Friday; wd++ {
		c.workday = weekly[wd]
	}
	c.weeklyEmpty = true
	for _, h := range weekly {
		if len(h) > 0 {
			c.weeklyEmpty = false
		}
	}
	y0, y1 := tableFrom, tableTo
	c.openYears = map[int]bool{}
	for d, h := range overrides {
		c.lastYear = max(c.lastYear, d.Year)
		if d.Year >= tableMin && d.Year <= tableMax {
			y0, y1 = min(y0, d.Year), max(y1, d.Year)
		}
		if len(h) > 0 {
			c.openYears[d.Year] = true
		}
	}
	c.y0 = y0
	for y := y0; y <= y1; y++ {
		k := c.build(y)
		c.main = append(c.main, k)
		c.starts = append(c.starts, k.start)
	}
	c.starts = append(c.starts, c.main[len(c.main)-1].end)
	return c
}

// Name returns the calendar's name.
func (c *Calendar) Name() string { return c.name }

// Location returns the calendar's time zone. Instants returned by the
// calendar are in it.
func (c *Calendar) Location() *time.Location { return c.loc }

// Hours returns the open intervals of date d after overrides and included
// calendars, as wall-clock times in the calendar's zone. Empty means closed.
func (c *Calendar) Hours(d Date) []Interval {
	return slices.Clone(c.hours(d, d.Weekday()))
}

func (c *Calendar) hours(d Date, wd time.Weekday) []Interval {
	if len(c.overrides) > 0 {
		if h, ok := c.overrides[d]; ok {
			return h
		}
	}
	if off, ok := c.statutory[d]; ok {
		if off {
			return nil
		}
		return c.workday
	}
	return c.weekly[wd]
}

// closedYear reports whether year y certainly has no open time, so that
// searches can skip it without building it.
func (c *Calendar) closedYear(y int) bool {
	return c.weeklyEmpty && !c.openYears[y]
}

// chunkCache keeps years outside the precomputed range once computed. Reads
// take no lock, because once the clock passes the table's last year every
// request lands here. It is bounded, roughly: emptied when it grows past
// chunkCacheSize, so odd inputs (instants centuries away) cannot grow it.
type chunkCache struct {
	m sync.Map // int → *chunk
	n atomic.Int32
}

const chunkCacheSize = 32

func (c *Calendar) chunk(y int) *chunk {
	if i := y - c.y0; i >= 0 && i < len(c.main) {
		return c.main[i]
	}
	cc := c.others
	if k, ok := cc.m.Load(y); ok {
		return k.(*chunk)
	}
	// Two goroutines may build the same year; both results are equal.
	k := c.build(y)
	if cc.n.Add(1) > chunkCacheSize {
		cc.m.Clear()
		cc.n.Store(1)
	}
	cc.m.Store(y, k)
	return k
}
