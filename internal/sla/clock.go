package sla

import (
	"fmt"
	"time"
)

// Meter measures time for a target: a business calendar for business
// units, real time for calendar units. *calendar.Calendar is one.
type Meter interface {
	Add(start time.Time, d time.Duration) time.Time
	Between(from, to time.Time) time.Duration
}

// realTime counts every second: targets in calendar minutes.
type realTime struct{}

func (realTime) Add(t time.Time, d time.Duration) time.Time { return t.Add(max(d, 0)) }
func (realTime) Between(a, b time.Time) time.Duration       { return b.Sub(a) }

// Pause is one stretch in a pausing status; To is nil while it lasts.
type Pause struct {
	From time.Time  `json:"from"`
	To   *time.Time `json:"to,omitempty"`
}

// Clock is one target's clock on one ticket. Everything but the inputs
// (start, budget, pauses, agreed time, met, cancelled and what has fired)
// is derived by compute, so a change of policy, priority or calendar
// recomputes it from its start.
type Clock struct {
	ID          string
	TicketID    string
	Target      TargetKind
	Cycle       int
	PolicyID    string
	CalendarID  string
	Business    bool
	Budget      time.Duration
	StartedAt   time.Time
	AgreedDueAt *time.Time
	Pauses      []Pause
	MetAt       *time.Time
	BreachedAt  *time.Time
	CancelledAt *time.Time
	Warned      bool // the warning fired, or was skipped as too late
	Level       int  // 0 nothing fired; 1 breached; n ≥ 2 escalation level n fired
	// Deadline is set for a deadline another part of Kefu started
	// (StartDeadline): its due instant is fixed and no policy holds its
	// rule.
	Deadline *Deadline

	// Derived.
	DueAt       time.Time
	WarnAt      *time.Time
	PausedSince *time.Time
	Paused      time.Duration // finished pauses, in the clock's unit
	Used        time.Duration // as of met, pause start or the last compute
	NextAt      *time.Time
}

// State is what a person sees of a clock.
type State string

const (
	Running   State = "running"
	Paused    State = "paused"
	Met       State = "met"
	Breached  State = "breached"
	Cancelled State = "cancelled"
)

// Open reports whether the clock still counts (running or paused).
func (c *Clock) Open() bool { return c.MetAt == nil && c.CancelledAt == nil }

// State returns the clock's state. A clock met late is Met; BreachedAt
// still tells it was late.
func (c *Clock) State() State {
	switch {
	case c.CancelledAt != nil:
		return Cancelled
	case c.MetAt != nil:
		return Met
	case c.PausedSince != nil:
		return Paused
	case c.BreachedAt != nil:
		return Breached
	}
	return Running
}

// compute derives due, warning, pause totals, used time and the sweep's
// next instant from the inputs, target t and meter m, as of now.
func (c *Clock) compute(t Target, m Meter, now time.Time) {
	c.Budget = time.Duration(t.Minutes) * time.Minute
	if c.Deadline != nil {
		c.Budget = max(m.Between(c.StartedAt, c.Deadline.DueAt), 0)
	}
	c.Business = t.Unit == Business
	c.Paused, c.PausedSince = 0, nil
	for _, p := range c.Pauses {
		if p.To == nil {
			from := p.From
			c.PausedSince = &from
			continue
		}
		c.Paused += m.Between(p.From, *p.To)
	}
	switch {
	case c.AgreedDueAt != nil:
		c.DueAt = c.AgreedDueAt.UTC()
	case c.Deadline != nil:
		c.DueAt = c.Deadline.DueAt.UTC()
	default:
		c.DueAt = m.Add(c.StartedAt, c.Budget+c.Paused).UTC()
	}
	c.WarnAt = nil
	if w := t.Warn; w != nil {
		lead := time.Duration(w.BeforeMinutes) * time.Minute
		if w.Percent > 0 {
			lead = c.Budget * time.Duration(100-w.Percent) / 100
		}
		var at time.Time
		if c.AgreedDueAt != nil {
			// The agreed time is a wall-clock promise; warn that long before it.
			at = c.AgreedDueAt.Add(-lead).UTC()
		} else {
			at = m.Add(c.StartedAt, max(c.Budget-lead, 0)+c.Paused).UTC()
		}
		c.WarnAt = &at
	}
	end := now
	switch {
	case c.MetAt != nil:
		end = *c.MetAt
	case c.CancelledAt != nil:
		end = *c.CancelledAt
	case c.PausedSince != nil:
		end = *c.PausedSince
	}
	c.Used = max(m.Between(c.StartedAt, end)-c.Paused, 0)
	if c.MetAt != nil && c.MetAt.After(c.DueAt) && c.BreachedAt == nil {
		due := c.DueAt
		c.BreachedAt = &due
	}
	c.NextAt = c.next(t, m)
}

// next is when the sweep has something to do for the clock, or nil.
func (c *Clock) next(t Target, m Meter) *time.Time {
	if !c.Open() || c.PausedSince != nil {
		return nil
	}
	at := func(t time.Time) *time.Time { u := t.UTC(); return &u }
	switch {
	case !c.Warned && c.WarnAt != nil && c.WarnAt.Before(c.DueAt):
		return at(*c.WarnAt)
	case c.Level == 0:
		return at(c.DueAt)
	case c.Level-1 < len(t.Escalations):
		return at(m.Add(c.DueAt, time.Duration(t.Escalations[c.Level-1].AfterMinutes)*time.Minute))
	}
	return nil
}

// Left is the time left before the deadline in the clock's unit, negative
// when overdue; for a paused clock, what was left when it paused.
func (c *Clock) Left(m Meter, now time.Time) time.Duration {
	switch {
	case !c.Open():
		return 0
	case c.PausedSince != nil:
		return m.Between(*c.PausedSince, c.DueAt)
	}
	return m.Between(now, c.DueAt)
}

// pause starts a pause at at, if none is running.
func (c *Clock) pause(at time.Time) {
	if n := len(c.Pauses); n > 0 && c.Pauses[n-1].To == nil {
		return
	}
	c.Pauses = append(c.Pauses, Pause{From: at.UTC()})
}

// resume ends the running pause at at.
func (c *Clock) resume(at time.Time) {
	if n := len(c.Pauses); n > 0 && c.Pauses[n-1].To == nil {
		to := at.UTC()
		if to.Before(c.Pauses[n-1].From) {
			to = c.Pauses[n-1].From
		}
		c.Pauses[n-1].To = &to
	}
}

func (c *Clock) meet(at time.Time) {
	if c.Open() {
		c.resume(at)
		a := at.UTC()
		c.MetAt = &a
	}
}

func (c *Clock) cancel(at time.Time) {
	if c.Open() {
		c.resume(at)
		a := at.UTC()
		c.CancelledAt = &a
	}
}

// snapshot renders what is stored of the clock, at the database's
// microsecond precision, leaving out the minutes used of a running clock
// (a figure of the moment, recomputed whenever it is shown).
func (c *Clock) snapshot() string {
	us := func(t *time.Time) int64 {
		if t == nil {
			return 0
		}
		return t.UnixMicro()
	}
	due := c.DueAt
	used := c.Used
	if c.Open() && c.PausedSince == nil {
		used = 0
	}
	last := Pause{}
	if n := len(c.Pauses); n > 0 {
		last = c.Pauses[n-1]
	}
	return fmt.Sprint(c.PolicyID, c.CalendarID, c.Business, c.Budget, us(&due), us(c.AgreedDueAt), us(c.WarnAt),
		len(c.Pauses), us(&last.From), us(last.To), us(c.PausedSince), c.Paused/time.Second, used/time.Second,
		us(c.MetAt), us(c.BreachedAt), us(c.CancelledAt), c.Warned, c.Level, us(c.NextAt))
}
