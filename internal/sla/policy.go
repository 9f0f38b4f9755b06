// Package sla keeps the promises of a service policy: it picks the SLA
// policy that governs each ticket, runs a clock per target in business
// time (internal/calendar), pauses it while the ticket waits on the
// customer, moves its deadline to a next-contact time the customer agreed
// to, and fires warnings, breaches and escalations exactly once.
package sla

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// TargetKind names what a target measures.
type TargetKind string

const (
	// FirstResponse runs from the ticket's arrival to the first public reply.
	FirstResponse TargetKind = "first_response"
	// Solution runs from arrival to a reply the agent marks as proposing a
	// solution.
	Solution TargetKind = "solution"
	// NextReply runs from each customer message (after the first response)
	// to the next public reply; every such message starts a new cycle.
	NextReply TargetKind = "next_reply"
	// Resolution runs from arrival until the ticket is solved.
	Resolution TargetKind = "resolution"
)

// TargetKinds lists the kinds in the order a ticket meets them.
var TargetKinds = []TargetKind{FirstResponse, NextReply, Solution, Resolution}

// Unit says how a target's minutes are counted.
type Unit string

const (
	Business Unit = "business" // open time of the policy's calendar
	Elapsed  Unit = "calendar" // wall-clock time, nights and holidays included
)

// Policy is one entry of the ordered list that decides a ticket's targets:
// the first enabled policy whose conditions all hold governs the ticket.
type Policy struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Position   int    `json:"position" required:"false" doc:"Policies are tried in ascending position; the first match wins"`
	CalendarID string `json:"calendar_id" doc:"The business calendar business-unit targets count in"`
	Definition
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ETagVersion is the version an ETag of the policy names.
func (p *Policy) ETagVersion() int { return p.Version }

// Definition is the part of a policy stored as one JSON document.
type Definition struct {
	Disabled bool     `json:"disabled" required:"false" doc:"A disabled policy is skipped when matching"`
	Match    Match    `json:"match" required:"false"`
	Targets  []Target `json:"targets"`
	// PauseStatuses stop every clock while the ticket is in one of them.
	PauseStatuses []ticket.Status `json:"pause_statuses" required:"false" doc:"Statuses that pause the clocks; default pending_customer"`
	// MinProgressUpdates is the number of public replies a ticket needs
	// before it may be solved (seed 002: solution, progress, satisfaction
	// check). A supervisor may waive it for one ticket with a reason.
	MinProgressUpdates int `json:"min_progress_updates" required:"false" minimum:"0" maximum:"100"`
	// Stages are per-stage deadlines of after-sales workflows, stored for
	// the workflow engine.
	Stages []Stage `json:"stages" required:"false"`
}

// Match holds a policy's conditions. An empty list matches anything;
// within a list any value matches (tags: the ticket has any of them).
type Match struct {
	Categories  []string          `json:"categories" required:"false"`
	Priorities  []ticket.Priority `json:"priorities" required:"false"`
	Channels    []string          `json:"channels" required:"false"`
	Tiers       []string          `json:"customer_tiers" required:"false"`
	Departments []string          `json:"departments" required:"false" doc:"Department ids"`
	Tags        []string          `json:"tags" required:"false"`
}

// Target is one promise, such as "first response within 10 business minutes".
type Target struct {
	Kind    TargetKind `json:"kind" enum:"first_response,next_reply,solution,resolution"`
	Minutes int        `json:"minutes" minimum:"1"`
	Unit    Unit       `json:"unit" required:"false" enum:"business,calendar"`
	// Warn fires once before the deadline.
	Warn *Warning `json:"warn,omitempty"`
	// Breach is done when the deadline passes unmet (default: notify the
	// assignee).
	Breach []Action `json:"breach" required:"false"`
	// Escalations are further levels (2, 3, …) when the target is still
	// unmet some minutes, in the target's unit, after the deadline.
	Escalations []Escalation `json:"escalations" required:"false"`
}

// Warning fires before the deadline: BeforeMinutes ahead of it, or when
// Percent of the budget is used.
type Warning struct {
	BeforeMinutes int      `json:"before_minutes,omitempty" minimum:"0"`
	Percent       int      `json:"percent,omitempty" minimum:"0" maximum:"99"`
	Notify        []Action `json:"notify" required:"false" doc:"notify actions only; default the assignee"`
}

// Escalation is one level after the breach.
type Escalation struct {
	AfterMinutes int      `json:"after_minutes" minimum:"1"`
	Actions      []Action `json:"actions"`
}

// ActionKind names what an action does.
type ActionKind string

const (
	Notify        ActionKind = "notify"         // in-app notice and email to To
	RaisePriority ActionKind = "raise_priority" // one step up, up to urgent
	Reassign      ActionKind = "reassign"       // to StaffID
	AddTag        ActionKind = "add_tag"        // Tag
)

// Recipients of a notify action.
const (
	ToAssignee    = "assignee"    // the ticket's assignee; its department's supervisors when unassigned
	ToSupervisors = "supervisors" // supervisors of DepartmentID, default the ticket's department (all supervisors when none)
	ToDepartment  = "department"  // everyone in DepartmentID
	ToStaff       = "staff"       // StaffID
)

// Action is one thing done on a warning, breach or escalation.
type Action struct {
	Kind         ActionKind `json:"kind" enum:"notify,raise_priority,reassign,add_tag"`
	To           string     `json:"to,omitempty" enum:"assignee,supervisors,department,staff" doc:"For notify"`
	DepartmentID string     `json:"department_id,omitempty"`
	StaffID      string     `json:"staff_id,omitempty" doc:"For notify to staff and reassign"`
	Tag          string     `json:"tag,omitempty"`
}

// Stage is a deadline for one stage of an after-sales workflow.
type Stage struct {
	Key          string `json:"key"`
	Name         string `json:"name"`
	DepartmentID string `json:"department_id,omitempty"`
	Minutes      int    `json:"minutes" minimum:"1"`
	Unit         Unit   `json:"unit" required:"false" enum:"business,calendar"`
}

// DefaultPauseStatuses apply when a policy names none.
var DefaultPauseStatuses = []ticket.Status{ticket.PendingCustomer}

// normalize fills defaults and turns nil lists into empty ones, so the
// stored and returned forms are the same.
func (d *Definition) normalize() {
	if len(d.PauseStatuses) == 0 {
		d.PauseStatuses = slices.Clone(DefaultPauseStatuses)
	}
	for _, l := range []*[]string{&d.Match.Categories, &d.Match.Channels, &d.Match.Tiers, &d.Match.Departments, &d.Match.Tags} {
		if *l == nil {
			*l = []string{}
		}
	}
	if d.Match.Priorities == nil {
		d.Match.Priorities = []ticket.Priority{}
	}
	if d.Targets == nil {
		d.Targets = []Target{}
	}
	if d.Stages == nil {
		d.Stages = []Stage{}
	}
	for i := range d.Targets {
		d.Targets[i].defaults()
	}
	for i := range d.Stages {
		if d.Stages[i].Unit == "" {
			d.Stages[i].Unit = Business
		}
	}
}

// defaults fills what a target leaves out: business time, a breach that
// tells the assignee, no escalations, warnings to the assignee.
func (t *Target) defaults() {
	if t.Unit == "" {
		t.Unit = Business
	}
	if t.Breach == nil {
		t.Breach = []Action{{Kind: Notify, To: ToAssignee}}
	}
	if t.Escalations == nil {
		t.Escalations = []Escalation{}
	}
	if t.Warn != nil && t.Warn.Notify == nil {
		t.Warn.Notify = []Action{{Kind: Notify, To: ToAssignee}}
	}
}

// Target returns the policy's target of kind k.
func (d *Definition) Target(k TargetKind) (Target, bool) {
	for _, t := range d.Targets {
		if t.Kind == k {
			return t, true
		}
	}
	return Target{}, false
}

// Pauses reports whether status pauses the clocks.
func (d *Definition) Pauses(status ticket.Status) bool {
	return slices.Contains(d.PauseStatuses, status)
}

// Subject is what conditions are checked against.
type Subject struct {
	Ticket *ticket.Ticket
	Tier   string // the customer's member tier
}

// Matches reports whether every condition holds for s.
func (m Match) Matches(s Subject) bool {
	t := s.Ticket
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	anyTag := len(m.Tags) == 0 || slices.ContainsFunc(t.Tags, func(tag string) bool { return slices.Contains(m.Tags, tag) })
	return in(m.Categories, t.Category) && in(m.Channels, t.Channel) && in(m.Tiers, s.Tier) &&
		in(m.Departments, t.DepartmentID) && anyTag &&
		(len(m.Priorities) == 0 || slices.Contains(m.Priorities, t.Priority))
}

// Select returns the first enabled policy of ps (in position order) that
// matches s, or nil.
func Select(ps []Policy, s Subject) *Policy {
	for i := range ps {
		if !ps[i].Disabled && ps[i].Match.Matches(s) {
			return &ps[i]
		}
	}
	return nil
}

// validate checks d and names every bad field. known says whether ids
// exist (departments, staff); it may be nil in pure tests.
func (p *Policy) validate(known func(kind, id string) bool) error {
	var fs kefu.Fields
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || len(p.Name) > 200 {
		fs.Add("name", "is required, at most 200 bytes")
	}
	if !kefu.ValidID(p.CalendarID) || (known != nil && !known("calendar", p.CalendarID)) {
		fs.Add("calendar_id", "no such calendar: %q", p.CalendarID)
	}
	d := &p.Definition
	checkID := func(field, kind, id string) {
		if !kefu.ValidID(id) || (known != nil && !known(kind, id)) {
			fs.Add(field, "no such %s: %q", kind, id)
		}
	}
	for i, pr := range d.Match.Priorities {
		if !slices.Contains(ticket.Priorities, pr) {
			fs.Add(fmt.Sprintf("match.priorities[%d]", i), "must be one of low, normal, high, urgent")
		}
	}
	for i, ch := range d.Match.Channels {
		if !slices.Contains(ticket.Channels, ch) {
			fs.Add(fmt.Sprintf("match.channels[%d]", i), "must be one of %s", strings.Join(ticket.Channels, ", "))
		}
	}
	for i, id := range d.Match.Departments {
		checkID(fmt.Sprintf("match.departments[%d]", i), "department", id)
	}
	seen := map[TargetKind]bool{}
	for i, t := range d.Targets {
		f := fmt.Sprintf("targets[%d]", i)
		switch {
		case !slices.Contains(TargetKinds, t.Kind):
			fs.Add(f+".kind", "must be one of first_response, next_reply, solution, resolution")
		case seen[t.Kind]:
			fs.Add(f+".kind", "%s is listed twice", t.Kind)
		}
		seen[t.Kind] = true
		if t.Minutes < 1 || t.Minutes > 366*24*60 {
			fs.Add(f+".minutes", "must be from 1 to 527040 (a year)")
		}
		if t.Unit != Business && t.Unit != Elapsed {
			fs.Add(f+".unit", "must be business or calendar")
		}
		if w := t.Warn; w != nil {
			if (w.BeforeMinutes > 0) == (w.Percent > 0) {
				fs.Add(f+".warn", "set exactly one of before_minutes and percent")
			}
			if w.BeforeMinutes >= t.Minutes && t.Minutes > 0 {
				fs.Add(f+".warn.before_minutes", "must be less than the target's %d minutes", t.Minutes)
			}
			if w.Percent < 0 || w.Percent > 99 {
				fs.Add(f+".warn.percent", "must be from 1 to 99")
			}
			for j, a := range w.Notify {
				if a.Kind != Notify {
					fs.Add(fmt.Sprintf("%s.warn.notify[%d].kind", f, j), "a warning only notifies")
				}
				checkAction(&fs, fmt.Sprintf("%s.warn.notify[%d]", f, j), a, checkID)
			}
		}
		for j, a := range t.Breach {
			checkAction(&fs, fmt.Sprintf("%s.breach[%d]", f, j), a, checkID)
		}
		last := 0
		for j, e := range t.Escalations {
			ef := fmt.Sprintf("%s.escalations[%d]", f, j)
			if e.AfterMinutes <= last {
				fs.Add(ef+".after_minutes", "must be positive and grow from level to level")
			}
			last = e.AfterMinutes
			if len(e.Actions) == 0 {
				fs.Add(ef+".actions", "at least one action")
			}
			for k, a := range e.Actions {
				checkAction(&fs, fmt.Sprintf("%s.actions[%d]", ef, k), a, checkID)
			}
		}
	}
	for i, st := range d.PauseStatuses {
		if !slices.Contains(ticket.Statuses, st) || st == ticket.Solved || st == ticket.Closed {
			fs.Add(fmt.Sprintf("pause_statuses[%d]", i), "must be one of new, open, pending_customer, pending_internal")
		}
	}
	if d.MinProgressUpdates < 0 || d.MinProgressUpdates > 100 {
		fs.Add("min_progress_updates", "must be from 0 to 100")
	}
	keys := map[string]bool{}
	for i, st := range d.Stages {
		f := fmt.Sprintf("stages[%d]", i)
		if st.Key == "" || keys[st.Key] {
			fs.Add(f+".key", "is required and unique")
		}
		keys[st.Key] = true
		if st.DepartmentID != "" {
			checkID(f+".department_id", "department", st.DepartmentID)
		}
		if st.Minutes < 1 {
			fs.Add(f+".minutes", "must be at least 1")
		}
		if st.Unit != Business && st.Unit != Elapsed {
			fs.Add(f+".unit", "must be business or calendar")
		}
	}
	return fs.Err()
}

func checkAction(fs *kefu.Fields, f string, a Action, checkID func(field, kind, id string)) {
	switch a.Kind {
	case Notify:
		switch a.To {
		case ToAssignee:
		case ToSupervisors:
			if a.DepartmentID != "" {
				checkID(f+".department_id", "department", a.DepartmentID)
			}
		case ToDepartment:
			checkID(f+".department_id", "department", a.DepartmentID)
		case ToStaff:
			checkID(f+".staff_id", "staff", a.StaffID)
		default:
			fs.Add(f+".to", "must be assignee, supervisors, department or staff")
		}
	case RaisePriority:
	case Reassign:
		checkID(f+".staff_id", "staff", a.StaffID)
	case AddTag:
		if a.Tag == "" || len(a.Tag) > 64 || strings.ContainsAny(a.Tag, " ,\t\n") {
			fs.Add(f+".tag", "must be 1 to 64 bytes without spaces or commas")
		}
	default:
		fs.Add(f+".kind", "must be notify, raise_priority, reassign or add_tag")
	}
}
