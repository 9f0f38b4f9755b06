package calendar_test

import (
	"testing"
	"time"

	"github.com/kefu-desk/kefu/internal/calendar"
)

func TestWorkingDays(t *testing.T) {
	day := [][]string{{"08:30", "12:00"}, {"13:30", "17:30"}}
	cal, err := calendar.New(calendar.Spec{Name: "Nanbei Chao", Timezone: "Asia/Shanghai",
		Weekly:  calendar.Week{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
		Include: []string{calendar.CNStatutory}})
	if err != nil {
		t.Fatal(err)
	}
	sh := cal.Location()
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, sh)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name  string
		start string
		n     int
		due   string
		count string // an instant WorkingDays counts n working days to
	}{
		{"Monday morning, 3 days: Thursday's close", "2025-05-12 09:00", 3, "2025-05-15 17:30", "2025-05-15 10:00"},
		{"Friday evening, 3 days: Wednesday's close", "2025-05-16 20:00", 3, "2025-05-21 17:30", "2025-05-21 17:00"},
		// National Day 2025: 1–8 October off, Saturday 11 October a
		// make-up working day.
		{"before National Day", "2025-09-30 15:00", 3, "2025-10-11 17:30", "2025-10-11 09:00"},
		{"Sunday 28 September is a make-up working day", "2025-09-27 10:00", 1, "2025-09-28 17:30", "2025-09-28 12:00"},
		{"n 0 on a working day: its close", "2025-05-12 09:00", 0, "2025-05-12 17:30", ""},
		{"n 0 on a Saturday: Monday's close", "2025-05-17 09:00", 0, "2025-05-19 17:30", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := at(c.start)
			if got, want := cal.AddWorkingDays(start, c.n), at(c.due); !got.Equal(want) {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", c.start, c.n, got.In(sh), want)
			}
			if c.count != "" {
				if got := cal.WorkingDays(start, at(c.count)); got != c.n {
					t.Errorf("WorkingDays(%s, %s) = %d, want %d", c.start, c.count, got, c.n)
				}
			}
		})
	}
	if n := cal.WorkingDays(at("2025-05-12 09:00"), at("2025-05-12 17:00")); n != 0 {
		t.Errorf("same day: %d working days, want 0", n)
	}
	if n := cal.WorkingDays(at("2025-05-12 09:00"), at("2025-05-10 17:00")); n != 0 {
		t.Errorf("backwards: %d working days, want 0", n)
	}
}
