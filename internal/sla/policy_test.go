package sla

import (
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/ticket"
)

func TestMatchAndSelect(t *testing.T) {
	tk := &ticket.Ticket{Category: "complaint", Priority: ticket.High, Channel: "wechat", Tags: []string{"vip", "quality"}}
	cases := []struct {
		name string
		m    Match
		tier string
		want bool
	}{
		{"empty matches everything", Match{}, "", true},
		{"category", Match{Categories: []string{"complaint", "billing"}}, "", true},
		{"other category", Match{Categories: []string{"billing"}}, "", false},
		{"priority", Match{Priorities: []ticket.Priority{ticket.High, ticket.Urgent}}, "", true},
		{"channel and tier", Match{Channels: []string{"wechat"}, Tiers: []string{"gold"}}, "gold", true},
		{"wrong tier", Match{Tiers: []string{"gold"}}, "silver", false},
		{"any tag", Match{Tags: []string{"quality", "logistics"}}, "", true},
		{"no tag", Match{Tags: []string{"logistics"}}, "", false},
		{"department", Match{Departments: []string{kefu.NewID()}}, "", false},
	}
	for _, c := range cases {
		if got := c.m.Matches(Subject{Ticket: tk, Tier: c.tier}); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	ps := []Policy{
		{Name: "off", Definition: Definition{Disabled: true}},
		{Name: "billing", Definition: Definition{Match: Match{Categories: []string{"billing"}}}},
		{Name: "complaints", Definition: Definition{Match: Match{Categories: []string{"complaint"}}}},
		{Name: "default"},
	}
	if p := Select(ps, Subject{Ticket: tk}); p == nil || p.Name != "complaints" {
		t.Fatalf("selected %+v", p)
	}
}

func TestPolicyValidationNamesFields(t *testing.T) {
	p := Policy{Name: " ", CalendarID: "nope", Definition: Definition{
		Match: Match{Priorities: []ticket.Priority{"asap"}, Channels: []string{"pigeon"}},
		Targets: []Target{
			{Kind: "first_reply", Minutes: 0, Unit: "hours"},
			{Kind: Solution, Minutes: 30, Warn: &Warning{BeforeMinutes: 40}},
			{Kind: Solution, Minutes: 30, Escalations: []Escalation{{AfterMinutes: 30}, {AfterMinutes: 10, Actions: []Action{{Kind: "page"}}}}},
			{Kind: Resolution, Minutes: 60, Breach: []Action{{Kind: Notify, To: "boss"}, {Kind: AddTag, Tag: "a b"}}},
		},
		PauseStatuses:      []ticket.Status{ticket.Solved},
		MinProgressUpdates: -1,
		Stages:             []Stage{{Key: "inspect", Minutes: 0}, {Key: "inspect", Minutes: 60}},
	}}
	p.Definition.normalize()
	err := p.validate(nil)
	want := []string{"name", "calendar_id", "match.priorities[0]", "match.channels[0]", "targets[0].kind", "targets[0].minutes",
		"targets[0].unit", "targets[1].warn.before_minutes", "targets[2].kind", "targets[2].escalations[0].actions",
		"targets[2].escalations[1].after_minutes", "targets[2].escalations[1].actions[0].kind", "targets[3].breach[0].to",
		"targets[3].breach[1].tag", "pause_statuses[0]", "min_progress_updates", "stages[0].minutes", "stages[1].key"}
	got := map[string]bool{}
	if e, ok := err.(*kefu.Error); ok {
		for _, f := range e.Fields {
			got[f.Field] = true
		}
	}
	for _, f := range want {
		if !got[f] {
			t.Errorf("no error for %s in %v", f, err)
		}
	}
}
