package calendar

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	shanghai = mustZone("Asia/Shanghai")
	berlin   = mustZone("Europe/Berlin")
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// weekdays returns weekly hours with the same intervals Monday to Friday.
func weekdays(ivs ...[]string) Week {
	w := Week{}
	for _, k := range []string{"mon", "tue", "wed", "thu", "fri"} {
		w[k] = ivs
	}
	return w
}

func everyDay(ivs ...[]string) Week {
	w := weekdays(ivs...)
	w["sat"], w["sun"] = ivs, ivs
	return w
}

func mustNew(t testing.TB, s Spec) *Calendar {
	t.Helper()
	c, err := New(s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func nanbeiChao(t testing.TB) *Calendar {
	return mustNew(t, Spec{
		Name:     "Nanbei Chao",
		Timezone: "Asia/Shanghai",
		Weekly:   weekdays([]string{"08:30", "12:00"}, []string{"13:30", "17:30"}),
		Include:  []string{CNStatutory},
	})
}

func seed000(t testing.TB) *Calendar {
	return mustNew(t, Spec{Name: "000", Timezone: "Asia/Shanghai", Weekly: weekdays([]string{"09:00", "18:00"})})
}

func allWeek(t testing.TB, zone string) *Calendar {
	return mustNew(t, Spec{Name: "24/7", Timezone: zone, Weekly: everyDay([]string{"00:00", "24:00"})})
}

func at(loc *time.Location, y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, loc)
}

func TestAdd(t *testing.T) {
	nanbei := nanbeiChao(t)
	s000 := seed000(t)
	b247 := allWeek(t, "Europe/Berlin")
	berlin9to5 := mustNew(t, Spec{Timezone: "Europe/Berlin", Weekly: weekdays([]string{"09:00", "17:00"})})
	// Sunday 01:00–04:00 wall time: 2h on the spring-forward Sunday, 4h on
	// the fall-back Sunday, 3h otherwise.
	berlinNight := mustNew(t, Spec{Timezone: "Europe/Berlin", Weekly: Week{"sun": {{"01:00", "04:00"}}}})
	// Midnight to midnight with 31 December open and 1 January closed.
	newYear := mustNew(t, Spec{
		Timezone:  "Asia/Shanghai",
		Weekly:    everyDay([]string{"00:00", "24:00"}),
		Overrides: map[string][][]string{"2026-01-01": {}},
	})

	tests := []struct {
		name  string
		cal   *Calendar
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"nanbei: 11:55 + 10m crosses lunch", nanbei, at(shanghai, 2025, 9, 24, 11, 55, 0), 10 * time.Minute, at(shanghai, 2025, 9, 24, 13, 35, 0)},
		{"nanbei: Friday 17:25 + 30m lands on make-up Sunday", nanbei, at(shanghai, 2025, 9, 26, 17, 25, 0), 30 * time.Minute, at(shanghai, 2025, 9, 28, 8, 55, 0)},
		{"nanbei: 09-30 17:00 + 60m skips National Day", nanbei, at(shanghai, 2025, 9, 30, 17, 0, 0), time.Hour, at(shanghai, 2025, 10, 9, 9, 0, 0)},
		{"nanbei: make-up Saturday 10-11 is open", nanbei, at(shanghai, 2025, 10, 10, 17, 0, 0), time.Hour, at(shanghai, 2025, 10, 11, 9, 0, 0)},
		{"nanbei: make-up Saturday before Spring Festival 2026", nanbei, at(shanghai, 2026, 2, 13, 17, 0, 0), time.Hour, at(shanghai, 2026, 2, 14, 9, 0, 0)},
		{"nanbei: Spring Festival 2026", nanbei, at(shanghai, 2026, 2, 14, 17, 0, 0), time.Hour, at(shanghai, 2026, 2, 24, 9, 0, 0)},
		{"nanbei: arrival on a holiday starts at the next opening", nanbei, at(shanghai, 2025, 10, 3, 10, 0, 0), 10 * time.Minute, at(shanghai, 2025, 10, 9, 8, 40, 0)},
		{"nanbei: arrival at lunch", nanbei, at(shanghai, 2025, 9, 24, 12, 10, 0), 10 * time.Minute, at(shanghai, 2025, 9, 24, 13, 40, 0)},
		{"nanbei: deadline at closing time is the closing instant", nanbei, at(shanghai, 2025, 9, 24, 11, 50, 0), 10 * time.Minute, at(shanghai, 2025, 9, 24, 12, 0, 0)},
		{"nanbei: deadline at end of day", nanbei, at(shanghai, 2025, 9, 24, 13, 30, 0), 4 * time.Hour, at(shanghai, 2025, 9, 24, 17, 30, 0)},
		{"nanbei: second precision", nanbei, at(shanghai, 2025, 9, 24, 11, 59, 30), 45 * time.Second, at(shanghai, 2025, 9, 24, 13, 30, 15)},
		{"nanbei: nanoseconds are kept", nanbei, time.Date(2025, 9, 24, 11, 59, 59, 500_000_000, shanghai), time.Second, time.Date(2025, 9, 24, 13, 30, 0, 500_000_000, shanghai)},
		{"nanbei: 3 business days", nanbei, at(shanghai, 2025, 9, 24, 10, 0, 0), 3 * 450 * time.Minute, at(shanghai, 2025, 9, 28, 10, 0, 0)},
		{"nanbei: instant given in UTC", nanbei, at(time.UTC, 2025, 9, 24, 3, 55, 0), 10 * time.Minute, at(shanghai, 2025, 9, 24, 13, 35, 0)},
		{"nanbei: 0 inside", nanbei, at(shanghai, 2025, 9, 24, 11, 0, 0), 0, at(shanghai, 2025, 9, 24, 11, 0, 0)},
		{"nanbei: 0 at closing", nanbei, at(shanghai, 2025, 9, 24, 12, 0, 0), 0, at(shanghai, 2025, 9, 24, 12, 0, 0)},
		{"nanbei: 0 just after closing", nanbei, time.Date(2025, 9, 24, 12, 0, 0, 1, shanghai), 0, at(shanghai, 2025, 9, 24, 13, 30, 0)},
		{"nanbei: 0 outside", nanbei, at(shanghai, 2025, 9, 27, 11, 0, 0), 0, at(shanghai, 2025, 9, 28, 8, 30, 0)},
		{"nanbei: negative counts as 0", nanbei, at(shanghai, 2025, 9, 24, 12, 30, 0), -time.Hour, at(shanghai, 2025, 9, 24, 13, 30, 0)},
		{"nanbei: year without statutory data follows the week", nanbei, at(shanghai, 2030, 1, 1, 17, 0, 0), time.Hour, at(shanghai, 2030, 1, 2, 9, 0, 0)},
		{"nanbei: far past", nanbei, at(shanghai, 1999, 12, 31, 17, 0, 0), time.Hour, at(shanghai, 2000, 1, 3, 9, 0, 0)},

		{"000: 24 business hours from Monday", s000, at(shanghai, 2025, 6, 16, 10, 0, 0), 24 * time.Hour, at(shanghai, 2025, 6, 18, 16, 0, 0)},
		{"000: 24 business hours from Friday", s000, at(shanghai, 2025, 6, 20, 15, 0, 0), 24 * time.Hour, at(shanghai, 2025, 6, 25, 12, 0, 0)},
		{"000: 24 business hours from Saturday", s000, at(shanghai, 2025, 6, 21, 15, 0, 0), 24 * time.Hour, at(shanghai, 2025, 6, 25, 15, 0, 0)},
		{"000: exactly 9h from opening ends at closing", s000, at(shanghai, 2025, 6, 16, 9, 0, 0), 9 * time.Hour, at(shanghai, 2025, 6, 16, 18, 0, 0)},

		{"24/7 Berlin: spring forward is real time", b247, at(berlin, 2025, 3, 30, 1, 0, 0), 2 * time.Hour, at(berlin, 2025, 3, 30, 4, 0, 0)},
		{"24/7 Berlin: fall back is real time", b247, at(berlin, 2025, 10, 26, 1, 0, 0), 2 * time.Hour, at(time.UTC, 2025, 10, 26, 1, 0, 0)},
		{"24/7 Berlin: a day is 25 hours in October", b247, at(berlin, 2025, 10, 26, 0, 0, 0), 25 * time.Hour, at(berlin, 2025, 10, 27, 0, 0, 0)},
		{"24/7 Berlin: across New Year", b247, at(berlin, 2025, 12, 31, 23, 0, 0), 2 * time.Hour, at(berlin, 2026, 1, 1, 1, 0, 0)},
		{"24/7 Berlin: across several years", b247, at(berlin, 2025, 1, 1, 0, 0, 0), 5 * 365 * 24 * time.Hour, at(berlin, 2029, 12, 31, 0, 0, 0)},
		{"24/7 Berlin: outside the table", b247, at(berlin, 2040, 3, 25, 1, 0, 0), 2 * time.Hour, at(berlin, 2040, 3, 25, 4, 0, 0)},
		{"9-17 Berlin: across spring forward", berlin9to5, at(berlin, 2025, 3, 28, 16, 0, 0), 2 * time.Hour, at(berlin, 2025, 3, 31, 10, 0, 0)},
		{"9-17 Berlin: across fall back", berlin9to5, at(berlin, 2025, 10, 24, 16, 0, 0), 2 * time.Hour, at(berlin, 2025, 10, 27, 10, 0, 0)},
		{"night Berlin: spring-forward Sunday has 2h", berlinNight, at(berlin, 2025, 3, 30, 0, 0, 0), 2 * time.Hour, at(berlin, 2025, 3, 30, 4, 0, 0)},
		{"night Berlin: fall-back Sunday has 4h", berlinNight, at(berlin, 2025, 10, 26, 0, 0, 0), 4 * time.Hour, at(berlin, 2025, 10, 26, 4, 0, 0)},
		{"night Berlin: 5h spill into next Sunday", berlinNight, at(berlin, 2025, 10, 26, 0, 0, 0), 5 * time.Hour, at(berlin, 2025, 11, 2, 2, 0, 0)},

		{"new year: budget ends at midnight closing", newYear, at(shanghai, 2025, 12, 31, 23, 0, 0), time.Hour, at(shanghai, 2026, 1, 1, 0, 0, 0)},
		{"new year: 0 at the closing midnight", newYear, at(shanghai, 2026, 1, 1, 0, 0, 0), 0, at(shanghai, 2026, 1, 1, 0, 0, 0)},
		{"new year: after it opens on the 2nd", newYear, at(shanghai, 2026, 1, 1, 0, 0, 1), 0, at(shanghai, 2026, 1, 2, 0, 0, 0)},
		{"new year: spill over the closed day", newYear, at(shanghai, 2025, 12, 31, 23, 0, 0), 2 * time.Hour, at(shanghai, 2026, 1, 2, 1, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cal.Add(tt.start, tt.d)
			if !got.Equal(tt.want) {
				t.Errorf("Add(%v, %v) = %v, want %v", tt.start, tt.d, got, tt.want)
			}
			if got.Location() != tt.cal.Location() {
				t.Errorf("Add returned location %v, want the calendar's %v", got.Location(), tt.cal.Location())
			}
			if tt.d > 0 {
				if b := tt.cal.Between(tt.start, got); b != tt.d {
					t.Errorf("Between(start, Add(start, %v)) = %v", tt.d, b)
				}
			}
		})
	}
}

func TestBetween(t *testing.T) {
	nanbei := nanbeiChao(t)
	b247 := allWeek(t, "Europe/Berlin")
	s247 := allWeek(t, "Asia/Shanghai")
	berlin9to5 := mustNew(t, Spec{Timezone: "Europe/Berlin", Weekly: weekdays([]string{"09:00", "17:00"})})
	tests := []struct {
		name     string
		cal      *Calendar
		from, to time.Time
		want     time.Duration
	}{
		{"nanbei: same interval", nanbei, at(shanghai, 2025, 9, 24, 9, 0, 0), at(shanghai, 2025, 9, 24, 10, 0, 0), time.Hour},
		{"nanbei: across lunch", nanbei, at(shanghai, 2025, 9, 24, 11, 0, 0), at(shanghai, 2025, 9, 24, 14, 0, 0), 90 * time.Minute},
		{"nanbei: both at lunch", nanbei, at(shanghai, 2025, 9, 24, 12, 10, 0), at(shanghai, 2025, 9, 24, 13, 0, 0), 0},
		{"nanbei: to the make-up Sunday", nanbei, at(shanghai, 2025, 9, 26, 17, 0, 0), at(shanghai, 2025, 9, 28, 9, 0, 0), time.Hour},
		{"nanbei: National Day week", nanbei, at(shanghai, 2025, 9, 29, 0, 0, 0), at(shanghai, 2025, 10, 13, 0, 0, 0), 5 * 450 * time.Minute},
		{"nanbei: a normal week", nanbei, at(shanghai, 2025, 6, 9, 0, 0, 0), at(shanghai, 2025, 6, 16, 0, 0, 0), 5 * 450 * time.Minute},
		{"nanbei: reversed is negative", nanbei, at(shanghai, 2025, 9, 24, 10, 0, 0), at(shanghai, 2025, 9, 24, 9, 0, 0), -time.Hour},
		{"nanbei: fractional seconds", nanbei, time.Date(2025, 9, 24, 9, 0, 0, 250_000_000, shanghai), time.Date(2025, 9, 24, 9, 0, 1, 0, shanghai), 750 * time.Millisecond},
		{"nanbei: out of the table", nanbei, at(shanghai, 2035, 6, 4, 0, 0, 0), at(shanghai, 2035, 6, 11, 0, 0, 0), 5 * 450 * time.Minute},
		{"24/7 Shanghai: a year", s247, at(shanghai, 2025, 1, 1, 0, 0, 0), at(shanghai, 2026, 1, 1, 0, 0, 0), 365 * 24 * time.Hour},
		{"24/7 Shanghai: leap year", s247, at(shanghai, 2028, 1, 1, 0, 0, 0), at(shanghai, 2029, 1, 1, 0, 0, 0), 366 * 24 * time.Hour},
		{"24/7 Shanghai: ten years, in and out of the table", s247, at(shanghai, 2020, 1, 1, 0, 0, 0), at(shanghai, 2030, 1, 1, 0, 0, 0), 3653 * 24 * time.Hour},
		{"24/7 Berlin: spring-forward day is 23h", b247, at(berlin, 2025, 3, 30, 0, 0, 0), at(berlin, 2025, 3, 31, 0, 0, 0), 23 * time.Hour},
		{"24/7 Berlin: fall-back day is 25h", b247, at(berlin, 2025, 10, 26, 0, 0, 0), at(berlin, 2025, 10, 27, 0, 0, 0), 25 * time.Hour},
		{"24/7 Berlin: a year is 365 days of real time", b247, at(berlin, 2025, 1, 1, 0, 0, 0), at(berlin, 2026, 1, 1, 0, 0, 0), 365 * 24 * time.Hour},
		{"9-17 Berlin: across spring forward", berlin9to5, at(berlin, 2025, 3, 28, 12, 0, 0), at(berlin, 2025, 3, 31, 12, 0, 0), 8 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.Between(tt.from, tt.to); got != tt.want {
				t.Errorf("Between(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
			if got := tt.cal.Between(tt.to, tt.from); got != -tt.want {
				t.Errorf("Between(%v, %v) = %v, want %v", tt.to, tt.from, got, -tt.want)
			}
		})
	}
}

func TestNextOpenAndIsOpen(t *testing.T) {
	nanbei := nanbeiChao(t)
	tests := []struct {
		name string
		t    time.Time
		next time.Time
		open bool
	}{
		{"inside", at(shanghai, 2025, 9, 24, 9, 0, 0), at(shanghai, 2025, 9, 24, 9, 0, 0), true},
		{"at opening", at(shanghai, 2025, 9, 24, 8, 30, 0), at(shanghai, 2025, 9, 24, 8, 30, 0), true},
		{"at closing", at(shanghai, 2025, 9, 24, 12, 0, 0), at(shanghai, 2025, 9, 24, 13, 30, 0), false},
		{"last nanosecond", time.Date(2025, 9, 24, 11, 59, 59, 999_999_999, shanghai), time.Date(2025, 9, 24, 11, 59, 59, 999_999_999, shanghai), true},
		{"evening", at(shanghai, 2025, 9, 24, 20, 0, 0), at(shanghai, 2025, 9, 25, 8, 30, 0), false},
		{"Saturday before make-up Sunday", at(shanghai, 2025, 9, 27, 10, 0, 0), at(shanghai, 2025, 9, 28, 8, 30, 0), false},
		{"holiday", at(shanghai, 2025, 10, 1, 10, 0, 0), at(shanghai, 2025, 10, 9, 8, 30, 0), false},
		{"New Year's Eve to next year", at(shanghai, 2025, 12, 31, 18, 0, 0), at(shanghai, 2026, 1, 4, 8, 30, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, ok := nanbei.NextOpen(tt.t)
			if !ok || !next.Equal(tt.next) {
				t.Errorf("NextOpen(%v) = %v, %v; want %v, true", tt.t, next, ok, tt.next)
			}
			if got := nanbei.IsOpen(tt.t); got != tt.open {
				t.Errorf("IsOpen(%v) = %v, want %v", tt.t, got, tt.open)
			}
		})
	}
}

// A calendar without weekly hours is open only on its open overrides;
// after the last one the budget can never be spent.
func TestFiniteCalendar(t *testing.T) {
	c := mustNew(t, Spec{
		Timezone:  "Asia/Shanghai",
		Overrides: map[string][][]string{"2025-05-01": {{"09:00", "10:00"}}, "2031-05-01": {{"09:00", "10:00"}}},
	})
	if got, want := c.Add(at(shanghai, 2020, 1, 1, 0, 0, 0), 90*time.Minute), at(shanghai, 2031, 5, 1, 9, 30, 0); !got.Equal(want) {
		t.Errorf("Add across the gap = %v, want %v", got, want)
	}
	if got := c.Add(at(shanghai, 2025, 5, 1, 9, 30, 0), 2*time.Hour); !got.Equal(Never) {
		t.Errorf("Add past the last opening = %v, want Never", got)
	}
	if got := c.Add(at(shanghai, 2032, 1, 1, 0, 0, 0), 0); !got.Equal(Never) {
		t.Errorf("Add(t, 0) after the last opening = %v, want Never", got)
	}
	if got, ok := c.NextOpen(at(shanghai, 2031, 5, 1, 10, 0, 0)); ok {
		t.Errorf("NextOpen after the last opening = %v, true; want false", got)
	}
	if got := c.Between(at(shanghai, 1900, 1, 1, 0, 0, 0), at(shanghai, 2999, 1, 1, 0, 0, 0)); got != 2*time.Hour {
		t.Errorf("Between over all time = %v, want 2h", got)
	}
}

func TestHours(t *testing.T) {
	nanbei := nanbeiChao(t)
	day := []Interval{{8*60 + 30, 12 * 60}, {13*60 + 30, 17*60 + 30}}
	tests := []struct {
		date string
		want []Interval
	}{
		{"2025-09-24", day}, // Wednesday
		{"2025-09-27", nil}, // Saturday
		{"2025-09-28", day}, // make-up Sunday
		{"2025-10-01", nil}, // National Day
		{"2027-02-06", nil}, // Saturday, no 2027 data yet
		{"2027-02-08", day}, // Monday
		{"2024-02-04", day}, // make-up Sunday of 2024
		{"2026-01-04", day}, // make-up Sunday of 2026
		{"2026-01-02", nil}, // New Year holiday Friday
	}
	for _, tt := range tests {
		d, err := ParseDate(tt.date)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, nanbei.Hours(d)); diff != "" {
			t.Errorf("Hours(%s) (-want +got):\n%s", tt.date, diff)
		}
	}
}

// Overrides win over the statutory calendar, and adjusted working days use
// the first weekday with hours when Monday has none.
func TestPrecedence(t *testing.T) {
	c := mustNew(t, Spec{
		Timezone: "Asia/Shanghai",
		Weekly:   Week{"tue": {{"10:00", "16:00"}}, "wed": {{"09:00", "18:00"}}},
		Overrides: map[string][][]string{
			"2025-10-01": {{"10:00", "12:00"}}, // open on a holiday
			"2025-10-11": {},                   // closed on a make-up day
		},
		Include: []string{CNStatutory},
	})
	tests := []struct {
		date string
		want []Interval
	}{
		{"2025-10-01", []Interval{{600, 720}}},
		{"2025-10-02", nil},
		{"2025-10-11", nil},
		{"2025-09-28", []Interval{{600, 960}}}, // Tuesday's hours
	}
	for _, tt := range tests {
		d, _ := ParseDate(tt.date)
		if diff := cmp.Diff(tt.want, c.Hours(d)); diff != "" {
			t.Errorf("Hours(%s) (-want +got):\n%s", tt.date, diff)
		}
	}
}

// Wall-clock intervals inside a DST gap keep only the time that exists.
func TestGapInterval(t *testing.T) {
	c := mustNew(t, Spec{Timezone: "Europe/Berlin", Weekly: Week{"sun": {{"02:30", "05:00"}}}})
	if got := c.Between(at(berlin, 2025, 3, 30, 0, 0, 0), at(berlin, 2025, 3, 31, 0, 0, 0)); got != 90*time.Minute {
		t.Errorf("open time on the spring-forward Sunday = %v, want 1h30m", got)
	}
	if got := c.Between(at(berlin, 2025, 10, 26, 0, 0, 0), at(berlin, 2025, 10, 27, 0, 0, 0)); got != 150*time.Minute {
		t.Errorf("open time on the fall-back Sunday = %v, want 2h30m", got)
	}
}

// zones used by the property tests: DST in both hemispheres, half-hour
// shifts, midnight transitions, a skipped day (Apia 2011) and none at all.
var propertyZones = []string{
	"Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
	"America/Sao_Paulo", "America/Santiago", "Asia/Tehran", "Africa/Casablanca",
	"Pacific/Apia", "Pacific/Chatham", "Asia/Kolkata", "UTC", "America/Havana",
}

func randomClock(r *rand.Rand) int { return r.IntN(24*4+1) * 15 }

func randomHours(r *rand.Rand, maxN int) [][]string {
	n := r.IntN(maxN + 1)
	var bounds []int
	for range 2 * n {
		bounds = append(bounds, randomClock(r))
	}
	// Sorted distinct bounds paired up give disjoint, touching-allowed
	// intervals.
	slicesSortUnique(&bounds)
	var out [][]string
	for i := 0; i+1 < len(bounds); i += 2 {
		out = append(out, []string{Clock(bounds[i]).String(), Clock(bounds[i+1]).String()})
	}
	if out == nil {
		out = [][]string{}
	}
	return out
}

func slicesSortUnique(s *[]int) {
	seen := map[int]bool{}
	var out []int
	for _, v := range *s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	*s = out
}

func randomSpec(r *rand.Rand) Spec {
	s := Spec{
		Name:      "random",
		Timezone:  propertyZones[r.IntN(len(propertyZones))],
		Weekly:    Week{},
		Overrides: map[string][][]string{},
	}
	for r.IntN(20) > 0 {
		for _, k := range weekdayKeys {
			s.Weekly[k] = randomHours(r, 3)
			if r.IntN(10) == 0 {
				s.Weekly[k] = [][]string{{"00:00", "24:00"}}
			}
		}
		if !mustHaveHours(s.Weekly) {
			continue
		}
		break
	}
	if !mustHaveHours(s.Weekly) {
		s.Weekly["wed"] = [][]string{{"09:00", "10:00"}}
	}
	for range r.IntN(30) {
		d := time.Date(2010+r.IntN(25), 1, 1+r.IntN(366), 0, 0, 0, 0, time.UTC)
		s.Overrides[d.Format(time.DateOnly)] = randomHours(r, 2)
	}
	if r.IntN(2) == 0 {
		s.Include = []string{CNStatutory}
	}
	return s
}

func mustHaveHours(w Week) bool {
	for _, h := range w {
		if len(h) > 0 {
			return true
		}
	}
	return false
}

// randomInstant is mostly inside the precomputed years, sometimes outside,
// and sometimes exactly on a wall-clock quarter hour (a likely bound).
func randomInstant(r *rand.Rand, loc *time.Location) time.Time {
	t := time.Date(2008+r.IntN(26), time.Month(1+r.IntN(12)), 1+r.IntN(31), r.IntN(24), r.IntN(4)*15, 0, 0, loc)
	switch r.IntN(3) {
	case 0:
		return t
	case 1:
		return t.Add(time.Duration(r.Int64N(int64(time.Hour))))
	default:
		return t.Add(time.Duration(r.IntN(3600)) * time.Second)
	}
}

func randomBudget(r *rand.Rand) time.Duration {
	switch r.IntN(4) {
	case 0:
		return time.Duration(r.IntN(120)) * time.Minute
	case 1:
		return time.Duration(r.Int64N(int64(48 * time.Hour)))
	case 2:
		return time.Duration(r.IntN(3600*24*30)) * time.Second
	default:
		return time.Duration(r.IntN(10)) * time.Second
	}
}

// randomSpan is mostly weeks, sometimes years, either direction.
func randomSpan(r *rand.Rand) time.Duration {
	max := int64(60 * 24 * time.Hour)
	if r.IntN(20) == 0 {
		max = int64(8 * 365 * 24 * time.Hour)
	}
	return time.Duration(r.Int64N(2*max) - max)
}

func TestProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	iterations := 300
	if testing.Short() {
		iterations = 50
	}
	for range iterations {
		s := randomSpec(r)
		c, err := New(s)
		if err != nil {
			t.Fatalf("New(%+v): %v", s, err)
		}
		for range 20 {
			start := randomInstant(r, c.Location())
			m1, m2 := randomBudget(r), randomBudget(r)
			if m1 > m2 {
				m1, m2 = m2, m1
			}
			a1, a2 := c.Add(start, m1), c.Add(start, m2)
			if b := c.Between(start, a1); b != m1 {
				t.Fatalf("%s: Between(%v, Add(start, %v) = %v) = %v", s.Timezone, start, m1, a1, b)
			}
			if a2.Before(a1) {
				t.Fatalf("%s: Add(%v, %v) = %v before Add(start, %v) = %v", s.Timezone, start, m2, a2, m1, a1)
			}
			// Add gives the earliest such instant: a nanosecond before,
			// the budget is not yet spent.
			if m1 > 0 && c.Between(start, a1.Add(-1)) >= m1 {
				t.Fatalf("%s: Add(%v, %v) = %v is not the earliest", s.Timezone, start, m1, a1)
			}
			if m1 == 0 && !a1.Equal(start) {
				if next, ok := c.NextOpen(start); !ok || !next.Equal(a1) {
					t.Fatalf("%s: Add(%v, 0) = %v, NextOpen = %v", s.Timezone, start, a1, next)
				}
			}

			a := randomInstant(r, c.Location())
			b := a.Add(randomSpan(r))
			d := b.Add(randomSpan(r))
			ab, bd, ad := c.Between(a, b), c.Between(b, d), c.Between(a, d)
			if ab+bd != ad {
				t.Fatalf("%s: Between(a,b)+Between(b,d) = %v+%v != Between(a,d) = %v (a=%v b=%v d=%v)", s.Timezone, ab, bd, ad, a, b, d)
			}
			if want := refBetween(c, a, b); ab != want {
				t.Fatalf("%s: Between(%v, %v) = %v, reference %v", s.Timezone, a, b, ab, want)
			}
			if open, next := c.IsOpen(a), c.Add(a, 0); open && !next.Equal(a) {
				t.Fatalf("%s: open at %v but Add(t, 0) = %v", s.Timezone, a, next)
			}
		}
	}
}

// refBetween recomputes Between day by day from Hours, without the tables,
// clipping as the tables do where a zone transition folds wall times onto
// the same instants.
func refBetween(c *Calendar, from, to time.Time) time.Duration {
	if to.Before(from) {
		return -refBetween(c, to, from)
	}
	d := DateOf(from.In(c.loc)).AddDays(-2)
	end := DateOf(to.In(c.loc)).AddDays(2)
	var sum time.Duration
	var last time.Time
	for ; !end.Before(d); d = d.AddDays(1) {
		for _, iv := range c.Hours(d) {
			s := time.Date(d.Year, d.Month, d.Day, 0, int(iv.Start), 0, 0, c.loc)
			e := time.Date(d.Year, d.Month, d.Day, 0, int(iv.End), 0, 0, c.loc)
			if s.Before(last) {
				s = last
			}
			if !e.After(s) {
				continue
			}
			last = e
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			if e.After(s) {
				sum += e.Sub(s)
			}
		}
	}
	return sum
}

func TestConcurrentUse(t *testing.T) {
	c := nanbeiChao(t)
	done := make(chan bool)
	for g := range 8 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(g), 0))
			ok := true
			for range 200 {
				start := randomInstant(r, shanghai)
				m := randomBudget(r)
				ok = ok && c.Between(start, c.Add(start, m)) == m
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("Between(start, Add(start, m)) != m under concurrent use")
		}
	}
}

// benchmark inputs: instants spread over the precomputed five years and the
// budgets an SLA policy typically has.
func benchStarts() []time.Time {
	r := rand.New(rand.NewPCG(7, 7))
	starts := make([]time.Time, 4096)
	for i := range starts {
		starts[i] = time.Date(2024, 1, 1, 0, 0, 0, 0, shanghai).Add(time.Duration(r.Int64N(int64(5 * 365 * 24 * time.Hour))))
	}
	return starts
}

// budgets are named for what they mean in the seed calendar, where a
// working day has 7h30m.
var budgets = []struct {
	name string
	d    time.Duration
}{
	{"10min", 10 * time.Minute},
	{"30min", 30 * time.Minute},
	{"24h", 24 * time.Hour},
	{"3days", 3 * 450 * time.Minute},
}

func BenchmarkAdd(b *testing.B) {
	c := nanbeiChao(b)
	starts := benchStarts()
	for _, bb := range budgets {
		b.Run(bb.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				c.Add(starts[i&4095], bb.d)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

func BenchmarkBetween(b *testing.B) {
	c := nanbeiChao(b)
	starts := benchStarts()
	spans := []struct {
		name string
		d    time.Duration
	}{{"hour", time.Hour}, {"week", 7 * 24 * time.Hour}, {"year", 365 * 24 * time.Hour}}
	for _, span := range spans {
		b.Run(span.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				c.Between(starts[i&4095], starts[i&4095].Add(span.d))
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := nanbeiChao(b).MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddOutsideTable measures a year after the precomputed range,
// served from the cache of computed years.
func BenchmarkAddOutsideTable(b *testing.B) {
	c := nanbeiChao(b)
	starts := benchStarts()
	for i := range starts {
		starts[i] = starts[i].AddDate(10, 0, 0)
	}
	for i := 0; b.Loop(); i++ {
		c.Add(starts[i&4095], 30*time.Minute)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
