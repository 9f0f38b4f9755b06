package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/chat"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/workflow"
)

func messages(t *testing.T, file string) map[string]string {
	t.Helper()
	var m map[string]string
	if _, err := toml.DecodeFS(localeFS, "locales/"+file, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Both languages have exactly the same messages, and every message the
// code asks for exists, including those built from a prefix and a value
// (status.open, channel.wechat …).
func TestMessagesComplete(t *testing.T) {
	en, zh := messages(t, "en.toml"), messages(t, "zh-CN.toml")
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("zh-CN.toml lacks %q", k)
		}
	}
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("en.toml lacks %q", k)
		}
	}
	used := map[string]bool{}
	for _, st := range ticket.Statuses {
		used["status."+string(st)] = true
	}
	for _, p := range ticket.Priorities {
		used["priority."+string(p)] = true
	}
	for _, c := range ticket.Channels {
		used["channel."+c] = true
	}
	for _, k := range []string{"customer", "reply", "note", "event"} {
		used["kind."+k] = true
	}
	for _, k := range []string{"email", "phone", "wechat"} {
		used["ident."+k] = true
	}
	for _, k := range []string{Online, Away, Offline} {
		used["presence."+k] = true
	}
	for _, r := range kefu.Roles {
		used["role."+string(r)] = true
	}
	for _, tab := range []string{"staff", "departments", "categories", "fields", "tokens", "audit", "calendars", "sla", "workflows"} {
		used["admin."+tab] = true
	}
	for _, d := range weekdays {
		used["weekday."+d] = true
	}
	for _, inc := range calendar.Includes() {
		used["include."+inc] = true
	}
	for _, k := range sla.TargetKinds {
		used["sla."+string(k)] = true
	}
	for _, st := range aftersales.Steps {
		used["cases.step."+string(st)] = true
	}
	for _, a := range aftersales.Actions {
		used["cases.action."+string(a)] = true
	}
	for _, k := range shop.Kinds {
		used["cases.kind."+string(k)] = true
	}
	for _, p := range aftersales.Parties {
		used["cases.party."+string(p)] = true
	}
	for _, k := range aftersales.RemedyKinds {
		used["cases.remedy."+string(k)] = true
	}
	for _, st := range aftersales.RemedyStates {
		used["cases.remedy_state."+st] = true
	}
	for _, st := range []sla.State{sla.Running, sla.Paused, sla.Met, sla.Breached, sla.Cancelled} {
		used["cases.deadline."+string(st)] = true
	}
	for _, p := range []string{aftersales.PhotoEvidence, aftersales.PhotoInspection, aftersales.PhotoRepair} {
		used["cases.photo."+p] = true
	}
	for _, p := range aftersales.Periods {
		used["report.period."+p] = true
	}
	for _, k := range []string{"refund", "complaint_reply", "complaint_resolution"} {
		used["sla."+k] = true
	}
	used["admin.aftersales"] = true
	for _, f := range propFields {
		used["field."+f] = true
	}
	for _, h := range []string{chat.HoursSLA, chat.HoursCalendar, chat.HoursAlways} {
		used["chat.hours."+h] = true
	}
	for _, st := range []chat.State{chat.Offline, chat.Queued, chat.Active, chat.Ended} {
		used["chat.state."+string(st)] = true
	}
	for _, id := range widgetStrings {
		used["widget."+id] = true
	}
	for _, q := range workQueues {
		used["work.queue."+q] = true
		used["work.queue_help."+q] = true
	}
	for _, k := range workflow.DecisionKinds {
		used["work.decision."+string(k)] = true
	}
	for _, o := range workflow.Outcomes {
		used["work.outcome."+string(o)] = true
		used["portal.chain_done."+string(o)] = true
	}
	for _, v := range workflow.Sights {
		used["work.see."+v] = true
	}
	for _, k := range []string{"start", "pickup", "decision", "follower", "note"} {
		used["work.step."+k] = true
	}
	for _, k := range []string{"done", "current", "next"} {
		used["portal.step."+k] = true
	}
	for _, k := range []string{"created", "updated", "unchanged"} {
		used["wfadmin.import."+k] = true
	}
	for _, k := range []string{"customer", "shop"} {
		used["work.from."+k] = true
	}
	for _, k := range []string{"workflow_stage", "workflow_pickup"} {
		used["sla."+k] = true
	}
	literal := regexp.MustCompile(`\bT\(\s*(?:ctx|r\.Context\(\)|r\.ctx)\s*,\s*"([a-z_.]+)"`)
	files, _ := filepath.Glob("*.go")
	templs, _ := filepath.Glob("*.templ")
	for _, f := range append(files, templs...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			if !strings.Contains(m[1], ".") || strings.HasSuffix(m[1], ".") {
				continue // a prefix completed at run time, covered above
			}
			used[m[1]] = true
		}
	}
	for k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("message %q is used but not in en.toml", k)
		}
	}
}
