package demo

import (
	"context"
	"fmt"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// NanbeiChao is the seed-002 business calendar: 08:30–12:00 and
// 13:30–17:30 on China's statutory working days.
func NanbeiChao() calendar.Spec {
	day := [][]string{{"08:30", "12:00"}, {"13:30", "17:30"}}
	return calendar.Spec{Name: "Nanbei Chao", Timezone: "Asia/Shanghai",
		Weekly:  calendar.Week{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
		Include: []string{calendar.CNStatutory}}
}

// SeedSLA adds the seed calendars and a policy set drawn from the seeds:
// seed 002's after-sales timeliness, seed 003's complaint handling, an
// urgent lane and seed 000's general first response. Existing open
// tickets get their clocks, so the demo shows every SLA state at once.
func SeedSLA(ctx context.Context, cals *calendar.Service, s *sla.Service) error {
	ctx = kefu.WithActor(ctx, kefu.System)
	nanbei, err := cals.Create(ctx, NanbeiChao())
	if err != nil {
		return fmt.Errorf("demo: calendar: %w", err)
	}
	always := [][]string{{"00:00", "24:00"}}
	allDay, err := cals.Create(ctx, calendar.Spec{Name: "Always open 24/7", Timezone: "Asia/Shanghai", Weekly: calendar.Week{
		"mon": always, "tue": always, "wed": always, "thu": always, "fri": always, "sat": always, "sun": always}})
	if err != nil {
		return fmt.Errorf("demo: calendar: %w", err)
	}
	notifyAssignee := []sla.Action{{Kind: sla.Notify, To: sla.ToAssignee}}
	escalate := []sla.Escalation{{AfterMinutes: 30, Actions: []sla.Action{
		{Kind: sla.Notify, To: sla.ToSupervisors}, {Kind: sla.RaisePriority}, {Kind: sla.AddTag, Tag: "sla-escalated"}}}}
	policies := []sla.Policy{
		{Name: "Urgent", Position: 10, CalendarID: allDay.ID, Definition: sla.Definition{
			Match: sla.Match{Priorities: []ticket.Priority{ticket.Urgent}},
			Targets: []sla.Target{
				{Kind: sla.FirstResponse, Minutes: 15, Unit: sla.Elapsed, Warn: &sla.Warning{Percent: 80}, Breach: notifyAssignee, Escalations: escalate},
				{Kind: sla.Resolution, Minutes: 8 * 60, Unit: sla.Elapsed},
			}}},
		{Name: "Complaints (seed 003)", Position: 20, CalendarID: nanbei.ID, Definition: sla.Definition{
			Match: sla.Match{Categories: []string{"complaint"}},
			Targets: []sla.Target{
				// 初步回复 within 24 hours, resolved within 3 working days.
				{Kind: sla.FirstResponse, Minutes: 24 * 60, Unit: sla.Elapsed, Warn: &sla.Warning{BeforeMinutes: 120},
					Breach: []sla.Action{{Kind: sla.Notify, To: sla.ToSupervisors}}},
				{Kind: sla.Resolution, Minutes: 3 * 450, Unit: sla.Business, Escalations: escalate},
			}}},
		{Name: "After-sales (seed 002)", Position: 30, CalendarID: nanbei.ID, Definition: sla.Definition{
			Match: sla.Match{Categories: []string{"return_exchange", "repair", "logistics", "billing"}},
			Targets: []sla.Target{
				{Kind: sla.FirstResponse, Minutes: 10, Unit: sla.Business, Warn: &sla.Warning{Percent: 80}, Breach: notifyAssignee},
				{Kind: sla.Solution, Minutes: 30, Unit: sla.Business, Warn: &sla.Warning{BeforeMinutes: 5}, Escalations: escalate},
				{Kind: sla.NextReply, Minutes: 30, Unit: sla.Business},
			},
			MinProgressUpdates: 3,
			Stages: []sla.Stage{
				{Key: "customer_service", Name: "Feedback to customer service", Minutes: 30, Unit: sla.Business},
				{Key: "warehouse_inspection", Name: "Warehouse inspection and comparison", Minutes: 2 * 450, Unit: sla.Business},
				{Key: "after_sales_appraisal", Name: "After-sales appraisal", Minutes: 2 * 450, Unit: sla.Business},
			}}},
		{Name: "Default (seed 000)", Position: 100, CalendarID: nanbei.ID, Definition: sla.Definition{
			Targets: []sla.Target{
				// First response within 24 business hours, resolution in 2 business days.
				{Kind: sla.FirstResponse, Minutes: 24 * 60, Unit: sla.Business, Warn: &sla.Warning{Percent: 75}},
				{Kind: sla.NextReply, Minutes: 24 * 60, Unit: sla.Business},
				{Kind: sla.Resolution, Minutes: 2 * 450, Unit: sla.Business},
			}}},
	}
	for _, p := range policies {
		if _, err := s.CreatePolicy(ctx, p); err != nil {
			return fmt.Errorf("demo: SLA policy %s: %w", p.Name, err)
		}
	}
	return nil
}
