package aftersales

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// Settings are the shop's after-sales rules that are not per SKU.
type Settings struct {
	// CalendarID counts working days for tickets no SLA policy governs;
	// a ticket under a policy counts in its policy's calendar.
	CalendarID        string `json:"calendar_id" doc:"Business calendar for tickets no SLA policy governs; empty: the only calendar, if there is one"`
	RefundWorkingDays int    `json:"refund_working_days" minimum:"1" maximum:"60" doc:"Refunds are due within this many working days (seed 003: 3–5)"`
	// RefundWarnMinutes warns before a refund falls due.
	RefundWarnMinutes              int `json:"refund_warn_minutes" minimum:"0" doc:"Business minutes before a refund is due to warn the assignee; 0: no warning"`
	ComplaintReplyHours            int `json:"complaint_reply_hours" minimum:"1" maximum:"720" doc:"A complaint's preliminary reply is due within these hours (seed 003: 24)"`
	ComplaintResolutionWorkingDays int `json:"complaint_resolution_working_days" minimum:"1" maximum:"60" doc:"A complaint is resolved within these working days (seed 003: 3)"`
	// EscalateAfterMinutes escalates a breached deadline: supervisors are
	// told and the ticket's priority goes up.
	EscalateAfterMinutes int `json:"escalate_after_minutes" minimum:"1" doc:"Business minutes after a missed deadline to escalate to the supervisors and raise the ticket's priority"`
	// ReturnAddress and the instructions are what self-shipping customers
	// are told.
	ReturnAddress          string `json:"return_address" maxLength:"500"`
	SelfShipInstructions   string `json:"self_ship_instructions" maxLength:"2000" doc:"English"`
	SelfShipInstructionsZh string `json:"self_ship_instructions_zh" maxLength:"2000"`
	// RefusalRules are the standard explanations a refusal carries.
	RefusalRules []RefusalRule `json:"refusal_rules"`
	Version      int           `json:"version"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// ETagVersion is the version an ETag of the settings names.
func (s *Settings) ETagVersion() int { return s.Version }

// RefusalRule is a standard rule explanation a refusal carries, as seed
// 001 asks: unreasonable demands are refused with a standard rule
// explanation.
type RefusalRule struct {
	Key           string `json:"key"`
	Explanation   string `json:"explanation" doc:"English, for the customer"`
	ExplanationZh string `json:"explanation_zh"`
}

// Rules from the eligibility check: a request refused when it opens
// carries the check's own explanation under one of these keys.
const (
	RuleOutOfWindow   = "out_of_window"
	RuleNonReturnable = "non_returnable"
	RuleNotOffered    = "not_offered"
	RuleNotDelivered  = "not_delivered"
)

// DefaultSettings are seed 003's: refunds within 3 working days (of its
// 3–5), a preliminary reply to complaints within 24 hours and resolution
// within 3 working days.
func DefaultSettings() Settings {
	return Settings{RefundWorkingDays: 3, RefundWarnMinutes: 120, ComplaintReplyHours: 24, ComplaintResolutionWorkingDays: 3,
		EscalateAfterMinutes: 240,
		SelfShipInstructions: "Pack the items with their tags and accessories, write the case number on the parcel, send it to the " +
			"address below and enter the tracking number on the case page.",
		SelfShipInstructionsZh: "请将商品连同吊牌和配件一起包装好，在包裹上注明售后单号，寄到以下地址，并在售后页面填写运单号。",
		RefusalRules: []RefusalRule{
			{Key: "used_or_washed", Explanation: "Items that have been worn, washed or altered cannot be returned.",
				ExplanationZh: "商品已穿着、洗涤或改动，不符合退换条件。"},
			{Key: "missing_parts", Explanation: "Returns must include the original tags, packaging and accessories.",
				ExplanationZh: "退货须附带原吊牌、包装及配件。"},
			{Key: "no_evidence", Explanation: "We could not confirm the problem from the information and photos provided.",
				ExplanationZh: "根据您提供的信息和照片，我们无法确认所述问题。"},
			{Key: "not_covered", Explanation: "This request is not covered by our after-sales policy.",
				ExplanationZh: "该请求不在我们的售后服务范围内。"},
			{Key: "not_repairable", Explanation: "This item cannot be repaired.", ExplanationZh: "该商品无法维修。"},
		}}
}

// Rule returns the refusal rule with key.
func (st *Settings) Rule(key string) (RefusalRule, bool) {
	for _, r := range st.RefusalRules {
		if r.Key == key {
			return r, true
		}
	}
	return RefusalRule{}, false
}

var ruleKey = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)

func (st *Settings) validate(known func(calendarID string) bool) error {
	var fs kefu.Fields
	st.ReturnAddress = strings.TrimSpace(st.ReturnAddress)
	if st.CalendarID != "" && !known(st.CalendarID) {
		fs.Add("calendar_id", "no such calendar: %q", st.CalendarID)
	}
	if st.RefundWorkingDays < 1 || st.RefundWorkingDays > 60 {
		fs.Add("refund_working_days", "must be 1 to 60")
	}
	if st.RefundWarnMinutes < 0 || st.RefundWarnMinutes > 24*60 {
		fs.Add("refund_warn_minutes", "must be 0 to 1440")
	}
	if st.ComplaintReplyHours < 1 || st.ComplaintReplyHours > 720 {
		fs.Add("complaint_reply_hours", "must be 1 to 720")
	}
	if st.ComplaintResolutionWorkingDays < 1 || st.ComplaintResolutionWorkingDays > 60 {
		fs.Add("complaint_resolution_working_days", "must be 1 to 60")
	}
	if st.EscalateAfterMinutes < 1 || st.EscalateAfterMinutes > 60*24*30 {
		fs.Add("escalate_after_minutes", "must be 1 to 43200")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"return_address", st.ReturnAddress, 500}, {"self_ship_instructions", st.SelfShipInstructions, 2000},
		{"self_ship_instructions_zh", st.SelfShipInstructionsZh, 2000}} {
		if len([]rune(f.v)) > f.max {
			fs.Add(f.name, "must be at most %d characters", f.max)
		}
	}
	seen := map[string]bool{}
	for i, r := range st.RefusalRules {
		f := fmt.Sprintf("refusal_rules[%d]", i)
		switch {
		case !ruleKey.MatchString(r.Key):
			fs.Add(f+".key", "must be 1 to 40 lower-case letters, digits or _")
		case seen[r.Key]:
			fs.Add(f+".key", "%s is listed twice", r.Key)
		case r.Key == RuleOutOfWindow || r.Key == RuleNonReturnable || r.Key == RuleNotOffered || r.Key == RuleNotDelivered:
			fs.Add(f+".key", "%s is the eligibility check's own rule", r.Key)
		}
		seen[r.Key] = true
		if strings.TrimSpace(r.Explanation) == "" || len([]rune(r.Explanation)) > 1000 {
			fs.Add(f+".explanation", "is required, at most 1000 characters")
		}
		if len([]rune(r.ExplanationZh)) > 1000 {
			fs.Add(f+".explanation_zh", "must be at most 1000 characters")
		}
	}
	return fs.Err()
}

// Settings returns the after-sales settings, the defaults until an
// administrator saves some.
func (s *Service) Settings(ctx context.Context) (*Settings, error) {
	return loadSettings(ctx, s.DB.Read)
}

func loadSettings(ctx context.Context, q database.Querier) (*Settings, error) {
	var raw string
	var st Settings
	var version int
	var at time.Time
	err := q.QueryRowContext(ctx, `SELECT settings, version, updated_at FROM aftersales_settings WHERE id = 1`).Scan(&raw, &version, &at)
	if errors.Is(err, sql.ErrNoRows) {
		// The defaults are version 1, so an ETag names them too.
		st = DefaultSettings()
		st.Version = 1
		return &st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("aftersales: settings: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, fmt.Errorf("aftersales: settings: %w", err)
	}
	st.Version, st.UpdatedAt = version, at.UTC()
	if st.RefusalRules == nil {
		st.RefusalRules = []RefusalRule{}
	}
	return &st, nil
}

// SaveSettings replaces the settings if they are still at version (0
// skips the check).
func (s *Service) SaveSettings(ctx context.Context, version int, st Settings) (*Settings, error) {
	if !audit.ActorOf(ctx).CanAdmin() {
		return nil, kefu.Errorf(kefu.Forbidden, "only administrators may change after-sales settings")
	}
	if st.RefusalRules == nil {
		st.RefusalRules = []RefusalRule{}
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := loadSettings(ctx, tx)
		if err != nil {
			return err
		}
		if version != 0 && cur.Version != version {
			return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("the settings changed since version %d; they are now version %d", version, cur.Version), Current: cur}
		}
		if err := st.validate(func(id string) bool {
			var n int
			return kefu.ValidID(id) && tx.QueryRowContext(ctx, `SELECT count(*) FROM calendars WHERE id = $1`, id).Scan(&n) == nil && n > 0
		}); err != nil {
			return err
		}
		now := s.Now()
		st.Version, st.UpdatedAt = cur.Version+1, now
		raw, _ := json.Marshal(st)
		if _, err := tx.ExecContext(ctx, `INSERT INTO aftersales_settings (id, settings, version, updated_at) VALUES (1, $1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET settings = $1, version = $2, updated_at = $3`, string(raw), st.Version, now); err != nil {
			return fmt.Errorf("aftersales: save settings: %w", err)
		}
		changes := map[string]audit.Change{}
		prev, next := *cur, st
		prev.Version, next.Version, prev.UpdatedAt, next.UpdatedAt = 0, 0, time.Time{}, time.Time{}
		audit.Diff(changes, "settings", prev, next)
		return audit.Record(ctx, tx, now, audit.Entry{Action: "update", Entity: "aftersales_settings", EntityID: "1", Changes: changes})
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// calendarFor picks the calendar working days of a ticket's deadlines
// count in: its SLA policy's, else the settings', else the only one.
func (s *Service) calendarFor(ctx context.Context, tx *sql.Tx, st *Settings, ticketID string) (string, error) {
	pol, err := s.SLA.TicketPolicy(ctx, tx, ticketID)
	if err != nil || pol != nil {
		if pol != nil {
			return pol.CalendarID, nil
		}
		return "", err
	}
	if st.CalendarID != "" {
		return st.CalendarID, nil
	}
	ids, err := database.Strings(ctx, tx, `SELECT CAST(id AS text) FROM calendars ORDER BY name LIMIT 2`)
	if err != nil {
		return "", err
	}
	if len(ids) == 1 {
		return ids[0], nil
	}
	return "", kefu.Fieldf("calendar_id", "no business calendar to count working days in: choose one in the after-sales settings, or govern the ticket by an SLA policy")
}
