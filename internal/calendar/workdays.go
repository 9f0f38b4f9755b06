package calendar

import "time"

// maxWorkdaySearch bounds the days AddWorkingDays and WorkingDays look
// through: a calendar with no open day in ten years has none at all.
const maxWorkdaySearch = 3660

// IsWorkingDay reports whether date d has open hours.
func (c *Calendar) IsWorkingDay(d Date) bool { return len(c.hours(d, d.Weekday())) > 0 }

// AddWorkingDays returns the close of the n-th working day after the
// date of t (in the calendar's zone): what "within n working days" means
// in an after-sales policy, so a refund due in 3 working days from a
// Friday afternoon before a holiday week is due when the third open day
// after it closes. The day of t itself is not counted, however early t
// is in it. n < 1 is the close of t's own day if it is a working day,
// else of the next. A calendar without open days returns Never.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	d := DateOf(t.In(c.loc))
	left := n
	if n < 1 {
		left = 1
		d = d.AddDays(-1)
	}
	for range maxWorkdaySearch {
		d = d.AddDays(1)
		h := c.hours(d, d.Weekday())
		if len(h) == 0 {
			continue
		}
		if left--; left == 0 {
			end := h[len(h)-1].End
			return time.Date(d.Year, d.Month, d.Day, 0, int(end), 0, 0, c.loc)
		}
	}
	return Never
}

// WorkingDays counts the working days from the date of from to the date
// of to (in the calendar's zone) that a deadline set with AddWorkingDays
// would have used: the working days after from's date up to and
// including to's. Work finished on the day it began counts 0; to before
// from counts 0.
func (c *Calendar) WorkingDays(from, to time.Time) int {
	d, end := DateOf(from.In(c.loc)), DateOf(to.In(c.loc))
	n := 0
	for i := 0; d.Before(end) && i < maxWorkdaySearch; i++ {
		d = d.AddDays(1)
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}
